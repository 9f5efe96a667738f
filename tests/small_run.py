"""A small federation for whole-run tests, shared by the test modules (importable by its
own name: tests/ is on the path, and a conftest module name is not unique)."""

# A federation small enough for whole runs in tests: binary logistic regression on
# breast_cancer, each proof tens of milliseconds.  Tests override what they need.
SMALL_RUN = {
    "run": {"seed": 5, "rounds": 2, "round_deadline_s": 120},
    "data": {"dataset": "breast_cancer"},
    "nodes": {"count": 4},
    "model": {"kind": "logistic", "batch_size": 4, "learning_rate": 0.5, "norm_bound": 4.0},
}


def toml_text(sections: dict) -> str:
    """A run configuration's TOML from {section: {key: value}} (str, bool, int, float)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        return f'"{v}"' if isinstance(v, str) else repr(v)
    return "".join(f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in keys.items())
                   for name, keys in sections.items())


__all__ = ["SMALL_RUN", "toml_text"]
