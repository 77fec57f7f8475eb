import pkgutil
import subprocess
import sys
from pathlib import Path

import huzhu.rules


def test_rules_package_imports_no_django():
    modules = [m.name for m in pkgutil.iter_modules(huzhu.rules.__path__, "huzhu.rules.")]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "assert 'django' not in sys.modules, sorted(k for k in sys.modules if 'django' in k)\n"
            "print(len(sys.modules))")
    root = Path(huzhu.rules.__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "huzhu.rules.cli" in modules and "huzhu.rules.scalar" in modules


def test_no_source_file_mentions_django_or_shared_docs():
    for path in Path(huzhu.rules.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import django" not in text and "from django" not in text, path
        assert "../shared" not in text, path
