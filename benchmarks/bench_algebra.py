"""Every algebra benchmark in turn (field, NTT, MSM, pairing, decoding), one after another
so that they do not compete for the cores.  Each prints a Markdown table headed by the
machine; BENCHMARKS.md records them.

    python benchmarks/bench_algebra.py
"""
import subprocess
import sys
from pathlib import Path

SCRIPTS = ["bench_field.py", "bench_ntt.py", "bench_msm.py", "bench_pairing.py", "bench_decode.py"]


def main():
    here = Path(__file__).resolve().parent
    failed = []
    for script in SCRIPTS:
        print(f"\n## {script}\n", flush=True)
        if subprocess.run([sys.executable, str(here / script)]).returncode:
            failed.append(script)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
