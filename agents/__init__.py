"""Learning agents, installed as ``rewardshaping.agents``: PPO (vectorised torch, extrinsic and
intrinsic value heads), DQN (counterfactual experiences) and tabular Q-learning.

May import anything in ``rewardshaping``; nothing in the library imports the agents.
"""
