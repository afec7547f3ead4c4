"""Numba-jitted visit counters: the tables behind count-based exploration bonuses.

What it holds:

* :class:`ExactCounter`: lifelong exact counts, an open-addressing hash table in preallocated
  arrays that grows past a load factor; keys are compared word by word, so hash collisions
  never merge two states (``store_keys=False`` trades that for memory; see
  :mod:`~rewardshaping.counting.table` for the collision probability).
* :class:`EpisodicCounter`: one such table per parallel env, cleared per env at episode start.
* :class:`CountMinSketch`: fixed-memory approximate counts (several prime-sized tables, the
  minimum over them; never undercounts), for unbounded key sets such as SimHash codes.
* :class:`SimHash`: locality-sensitive codes of continuous vectors (Tang et al. 2017).
* :func:`key_bytes` / :func:`hash_keys`: how any numeric array row becomes a key and its hash.

Every table counts a whole batch in one jitted call, takes an ``active`` mask (rows that are
not real transitions are not counted), refuses to grow past ``max_bytes`` with
:class:`CounterMemoryError` before counting anything of the batch, and has ``merge``,
``state_dict`` and ``load_state_dict``.

What it may import: NumPy and Numba only. It knows nothing of environments, batches of
transitions or reward terms; :mod:`rewardshaping.intrinsic` builds the bonuses on top of it
(dependencies point ``counting`` <- ``intrinsic``, never the other way).
"""

from rewardshaping.counting.hashing import hash_keys, key_bytes
from rewardshaping.counting.simhash import SimHash
from rewardshaping.counting.sketch import CountMinSketch, largest_primes
from rewardshaping.counting.table import (
    DEFAULT_MAX_BYTES,
    CounterMemoryError,
    EpisodicCounter,
    ExactCounter,
)

__all__ = [
    "ExactCounter",
    "EpisodicCounter",
    "CountMinSketch",
    "SimHash",
    "CounterMemoryError",
    "DEFAULT_MAX_BYTES",
    "hash_keys",
    "key_bytes",
    "largest_primes",
]
