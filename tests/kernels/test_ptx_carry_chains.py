"""The device-only PTX of kernels/field.cuh, run without a GPU.

The carry chains under __CUDA_ARCH__ never run on a machine without a device: the host build
takes the unsigned __int128 branch instead.  This test reads every inline `asm` block of the
kernel sources, binds its %N operands to the C expressions of its constraint lists, executes
its instructions with the integer semantics of the PTX ISA (extended-precision arithmetic:
`.cc` writes the carry or borrow flag CC.CF, `addc`/`subc`/`madc` read it), and checks the
result against what the enclosing function promises, on random and edge-case operands.  An
operand typo, a missing `.cc` or a flag read before it is written fails here, in CI.
"""
import random
import re

import pytest

from hpc_zkfl.backends.kernel_runtime import HEADERS, SOURCES, kernel_dir

MASK = (1 << 64) - 1

# A function header (its name in group 1) or an asm statement (its body in group 2).
ASM = re.compile(r"(?:ZK_HD\s+\w+\s+(\w+)\s*\()"
                 r"|asm(?:\s+volatile)?\s*\(((?:[^()]|\([^()]*\))*)\);", re.S)


def asm_blocks():
    """(enclosing function, instructions, output expressions, input expressions) of every asm
    statement in the kernel sources."""
    blocks = []
    for name in HEADERS + SOURCES:
        text = (kernel_dir() / name).read_text()
        function = None
        for match in ASM.finditer(text):
            if match.group(1):
                function = match.group(1)
                continue
            body = match.group(2)
            template, _, operands = body.partition(":")
            code = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', template))
            code = code.replace("\\n", "\n").replace("\\t", " ")
            outputs, _, inputs = operands.partition(":")
            parse = lambda part: re.findall(r'"[=&+]*[lrh]"\s*\(([^()]*(?:\[[^\]]*\])?)\)', part)
            instrs = [line.strip().rstrip(";") for line in code.splitlines()
                      if line.strip() not in ("", "{", "}")]
            blocks.append((name, function, instrs, parse(outputs), parse(inputs)))
    return blocks


def run_ptx(instrs, operands):
    """Execute u64 extended-precision PTX over `operands` (a list of ints, %N = operands[N]);
    returns the operands after the block.  CC.CF starts undefined: reading it first fails."""
    regs = list(operands)
    cf = None

    def value(tok):
        tok = tok.strip()
        if tok.startswith("%"):
            return regs[int(tok[1:])]
        return int(tok, 0)

    for ins in instrs:
        op, _, args = ins.partition(" ")
        args = [a.strip() for a in args.split(",")]
        parts = op.split(".")
        assert parts[-1] == "u64", f"only u64 instructions are modelled: {ins}"
        base, flags = parts[0], set(parts[1:-1])
        writes_cf = "cc" in flags
        if base in ("addc", "subc", "madc"):
            assert cf is not None, f"{ins}: reads CC.CF before any instruction wrote it"
            carry_in = cf
        else:
            carry_in = 0
        dst = int(args[0][1:])
        src = [value(a) for a in args[1:]]
        if base in ("add", "addc"):
            total = src[0] + src[1] + carry_in
            out, flag = total & MASK, total >> 64
        elif base in ("sub", "subc"):
            total = src[0] - src[1] - carry_in
            out, flag = total & MASK, int(total < 0)
        elif base in ("mad", "madc"):
            product = src[0] * src[1]
            if "lo" in flags:
                product &= MASK
            elif "hi" in flags:
                product >>= 64
            else:
                raise AssertionError(f"mad without .lo or .hi: {ins}")
            total = product + src[2] + carry_in
            out, flag = total & MASK, total >> 64
        else:
            raise AssertionError(f"instruction not modelled: {ins}")
        regs[dst] = out
        if writes_cf:
            cf = flag
    return regs


def _limbs(x):
    return [(x >> (64 * i)) & MASK for i in range(4)]


def _int(limbs):
    return sum(v << (64 * i) for i, v in enumerate(limbs))


def _run(instrs, outputs, inputs, values):
    """The block's outputs (C expression -> value) for inputs bound from `values`; outputs
    start as garbage, since the block must write them before reading them."""
    operands = [random.getrandbits(64) for _ in outputs] + [values[e] for e in inputs]
    return dict(zip(outputs, run_ptx(instrs, operands)))


def _run_wide(instrs, outputs, inputs, x, y):
    """A four-limb block on a[] = x and b[] = y: (r[] as an integer, all outputs)."""
    values = {**{f"a[{i}]": v for i, v in enumerate(_limbs(x))},
              **{f"b[{i}]": v for i, v in enumerate(_limbs(y))}}
    got = _run(instrs, outputs, inputs, values)
    return _int([got[f"r[{i}]"] for i in range(4)]), got


def check_mac(instrs, outputs, inputs, rnd):
    for a, b, c, carry in _cases(rnd, 4):
        got = _run(instrs, outputs, inputs, {"a": a, "b": b, "c": c, "carry": carry})
        assert got["lo"] + (got["hi"] << 64) == a * b + c + carry


def check_add4(instrs, outputs, inputs, rnd):
    for x, y in _wide_cases(rnd):
        r, _ = _run_wide(instrs, outputs, inputs, x, y)
        assert r == (x + y) % (1 << 256)


def check_sub4(instrs, outputs, inputs, rnd):
    for x, y in _wide_cases(rnd):
        r, got = _run_wide(instrs, outputs, inputs, x, y)
        assert r == (x - y) % (1 << 256)
        assert got["borrow"] & 1 == int(x < y)  # the function returns borrow & 1


def _cases(rnd, k):
    edges = [0, 1, MASK, MASK - 1, 1 << 63]
    cases = [[rnd.choice(edges) for _ in range(k)] for _ in range(200)]
    cases += [[rnd.getrandbits(64) for _ in range(k)] for _ in range(300)]
    return cases + [[MASK] * k, [0] * k]


def _wide_cases(rnd):
    top = (1 << 256) - 1
    edges = [0, 1, top, top - 1, 1 << 64, (1 << 64) - 1, (1 << 192) - 1, 1 << 255]
    cases = [(rnd.choice(edges), rnd.choice(edges)) for _ in range(200)]
    cases += [(rnd.getrandbits(256), rnd.getrandbits(256)) for _ in range(300)]
    # Carry and borrow chains that run through every limb.
    cases += [((1 << 256) - 1, 1), (0, 1), (1 << 192, 1), ((1 << 128) - 1, (1 << 128) + 1)]
    return cases


SPECS = {"mac": check_mac, "add4": check_add4, "sub4": check_sub4}


def test_every_asm_block_has_a_spec():
    blocks = asm_blocks()
    assert blocks, "no inline asm found: the parser no longer matches the sources"
    assert sorted(f for _, f, *_ in blocks) == sorted(SPECS), \
        "an asm block was added or renamed: give it a check in SPECS"


@pytest.mark.parametrize("block", asm_blocks(), ids=lambda b: f"{b[0]}:{b[1]}")
def test_ptx_block_computes_what_its_function_promises(block):
    _, function, instrs, outputs, inputs = block
    assert instrs and outputs and inputs
    SPECS[function](instrs, outputs, inputs, random.Random(function))


def test_the_emulator_catches_a_broken_chain():
    """The checks fail on the mistakes they exist for: an operand typo, a dropped .cc, a flag
    read before it is written."""
    (_, _, instrs, outputs, inputs), = [b for b in asm_blocks() if b[1] == "add4"]
    rnd = random.Random(1)
    typo = [instrs[0]] + [instrs[1].replace("%9", "%8")] + instrs[2:]
    no_cc = [instrs[0], instrs[1].replace("addc.cc", "addc")] + instrs[2:]
    first_reads = [instrs[1].replace("%1", "%0")] + instrs[1:]
    for broken in (typo, no_cc):
        with pytest.raises(AssertionError):
            check_add4(broken, outputs, inputs, rnd)
    with pytest.raises(AssertionError, match="before any instruction wrote it"):
        check_add4(first_reads, outputs, inputs, rnd)
