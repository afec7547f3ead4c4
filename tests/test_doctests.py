"""Every docstring example in the installed package runs and shows what it claims."""

import doctest
import importlib
import pkgutil

import pytest

import rewardshaping


def modules():
    names = [rewardshaping.__name__]
    for info in pkgutil.walk_packages(rewardshaping.__path__, prefix="rewardshaping."):
        names.append(info.name)
    for pkg in ("rewardshaping.envs", "rewardshaping.agents"):
        mod = importlib.import_module(pkg)
        names.append(pkg)
        names += [i.name for i in pkgutil.walk_packages(mod.__path__, prefix=pkg + ".")]
    return sorted(set(names))


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest failure(s) in {name}"
