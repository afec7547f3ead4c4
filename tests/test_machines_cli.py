"""The ``rewardshaping machine`` command."""

from __future__ import annotations

from rewardshaping.cli import main
from rewardshaping.envs.office import office_spec_path


def test_convert_legacy_to_yaml_dot_and_mermaid(capsys):
    path = str(office_spec_path(4, "legacy"))
    assert main(["machine", path, "--exclusive", "--to", "yaml"]) == 0
    assert "no_match: sink" in capsys.readouterr().out
    assert main(["machine", path, "--exclusive", "--to", "dot"]) == 0
    assert '"3" -> "4" [label="d & !n / 1"]' in capsys.readouterr().out
    assert main(["machine", path, "--exclusive", "--to", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("stateDiagram-v2")


def test_hierarchy_summary_and_errors(tmp_path, capsys):
    from rewardshaping.envs.craft import SPEC_DIR

    assert main(["machine", str(SPEC_DIR / "recipes.yaml")]) == 0
    assert "height 4; flat equivalent: 18 states" in capsys.readouterr().out
    bad = tmp_path / "bad.txt"
    bad.write_text("0\n[1]\n(0,1,'a&(b',ConstantRewardFunction(1))\n")
    assert main(["machine", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.txt:3:9" in err and "never closed" in err


def test_ambiguities_are_listed_with_first_match(tmp_path, capsys):
    spec = tmp_path / "amb.txt"
    spec.write_text(
        "0\n[1,2]\n(0,1,'a',ConstantRewardFunction(0))\n(0,2,'b',ConstantRewardFunction(1))\n"
    )
    assert main(["machine", str(spec)]) == 1
    assert main(["machine", str(spec), "--first-match"]) == 0
    out = capsys.readouterr().out
    assert "1 ambiguities" in out and "both hold on ['a', 'b']: first wins" in out
