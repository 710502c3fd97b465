"""Errors of the model catalog. Each message says how to fix the problem."""


class CatalogError(Exception):
    """Base of every catalog error."""


class UnknownModel(CatalogError, KeyError):
    """A model name that the catalog does not hold."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown model {name!r}.{hint} Run `mmoa models` for the catalog, "
            "or add it under `models:` in mmoa.yaml."
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class BadModelData(CatalogError, ValueError):
    """A model entry (data file or config) that is malformed."""


class BadBudget(CatalogError, ValueError):
    """A `budgets:` entry in mmoa.yaml that is malformed; names the file, the key and the fix."""

    def __init__(self, where: str, key: str, problem: str, fix: str) -> None:
        self.where, self.key, self.problem, self.fix = where, key, problem, fix
        super().__init__(f"{where}: {key}: {problem}. Fix: {fix}")
