"""Writing a file so that a reader never sees half of it."""
import os


def write_atomically(path, data) -> None:
    """Write `data` (bytes or text) to a temporary file beside `path`, then rename it into
    place; on failure the temporary file is removed and `path` is left as it was."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb" if isinstance(data, bytes) else "w",
                  **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


__all__ = ["write_atomically"]
