"""The backend contract: what every backend has (:class:`Backend`) and what some have.

Array conventions (every method): C-contiguous ``uint64`` NumPy arrays of 64-bit limbs,
least significant first.  Field elements are in Montgomery form: Fr vectors (n, 4); affine
G1 points (n, 2, 4) and G2 points (n, 2, 2, 4) (Fq2 as (c0, c1)), all-zero coordinates for
the point at infinity.  MSM and fixed-base scalars are the exception: plain (not Montgomery)
integers below r as (n, 4) limbs.  A malformed input (dtype, shape, lengths that disagree,
a value not below its modulus) raises ``ValueError``; nothing is returned for it.

Optional capabilities are small Protocols of their own, named in :data:`CAPABILITIES`.  A
backend lists the ones it implements in its ``capabilities`` frozenset and callers ask
:func:`supports` rather than probe for methods, so an operation is never used by accident
(a helper that happens to share a name) and never skipped by a typo.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:       # the registry imports this module, without loading more than it needs
    import numpy as np


class Backend(Protocol):
    """The operations every backend implements (cpu, gpu, cuda-host, reference)."""

    #: The name the registry knows it by.
    name: str
    #: The optional capabilities it implements: keys of :data:`CAPABILITIES`.
    capabilities: frozenset[str]

    def msm_g1(self, points, scalars) -> np.ndarray:
        """sum_i [scalars[i]] points[i]: (n, 2, 4) points, (n, 4) plain scalars below r ->
        one affine (2, 4) point (zeros for infinity; also for n = 0)."""

    def msm_g2(self, points, scalars) -> np.ndarray:
        """As :meth:`msm_g1` on G2: (n, 2, 2, 4) points -> one (2, 2, 4) point."""

    def ntt(self, values, inverse=False, coset_shift=None) -> np.ndarray:
        """Radix-2 NTT of an (n, 4) Fr array, n a power of two, as a new array: out[i] =
        sum_j values[j] (s omega^i)^j with s = coset_shift (None: 1; True: the generator 5;
        an int, non-zero mod r).  ``inverse=True`` is its exact inverse, 1/n included."""

    def pairing_check(self, g1_points, g2_points) -> bool:
        """Whether prod_i e(g1_points[i], g2_points[i]) == 1 for (n, 2, 4) and (n, 2, 2, 4)
        affine points; True for n = 0, and pairs with a point at infinity contribute 1."""

    def fr_mul(self, a, b) -> np.ndarray:
        """Element-wise a * b of two (n, 4) Fr arrays of one shape."""

    def fr_add(self, a, b) -> np.ndarray:
        """Element-wise a + b of two (n, 4) Fr arrays of one shape."""

    def fr_sub(self, a, b) -> np.ndarray:
        """Element-wise a - b of two (n, 4) Fr arrays of one shape."""

    def fr_inverse(self, a) -> np.ndarray:
        """Element-wise 1 / a of an (n, 4) Fr array, 0 for 0."""


class FixedBase(Protocol):
    """"fixed_base": many scalar multiples of the generator (the Groth16 setup's work)."""

    def fixed_base_g1(self, scalars) -> np.ndarray:
        """[k_i] G1 for (n, 4) plain scalars below r: affine (n, 2, 4) points."""

    def fixed_base_g2(self, scalars) -> np.ndarray:
        """[k_i] G2 for (n, 4) plain scalars below r: affine (n, 2, 2, 4) points."""


class QapQuotient(Protocol):
    """"qap_quotient": the Groth16 quotient in one call (a kernel backend keeps every step
    on its device)."""

    def qap_quotient(self, a, b, c, coset_shift: int, z_inv: int) -> np.ndarray:
        """The coefficients of (a b - c) / Z, (n, 4), from the constraint evaluations a, b, c
        ((n, 4) each, n a power of two), with Z = 1 / z_inv on the coset coset_shift H."""


class ProverScalars(Protocol):
    """"prover_scalars": all of the Groth16 prover's work before its MSMs."""

    def prover_scalars(self, r1cs, witness, n: int, coset_shift: int, z_inv: int) -> tuple:
        """(first unsatisfied constraint or None, w, h) for an (n_wires, 4) witness whose
        shape the caller checked: w the witness and h the quotient's n - 1 coefficients as
        plain limbs, in whatever array type this backend's MSMs and ``join`` take; w and h
        are None when a constraint fails."""


class Join(Protocol):
    """"join": concatenation into the array type the backend's MSMs take best (a kernel
    backend joins on the device, keeping long host arrays resident there)."""

    def join(self, parts) -> Any:
        """The concatenation along axis 0 of host arrays and arrays of this backend."""


#: Optional capability -> the Protocol listing its methods.
CAPABILITIES: dict[str, type] = {
    "fixed_base": FixedBase,
    "join": Join,
    "prover_scalars": ProverScalars,
    "qap_quotient": QapQuotient,
}


def protocol_methods(protocol: type) -> list[str]:
    """The methods a Protocol declares (not those it inherits from Protocol itself)."""
    return [name for name, value in vars(protocol).items()
            if not name.startswith("_") and inspect.isfunction(value)]


def supports(backend, capability: str) -> bool:
    """Whether `backend` declares `capability`; ValueError for a name that is none."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}")
    return capability in backend.capabilities


def _signature_problem(impl, spec) -> str | None:
    """Why `impl` cannot be called as `spec` is (same parameters, names and defaults, in
    order; more only with defaults), or None."""
    have = list(inspect.signature(impl).parameters.values())
    want = list(inspect.signature(spec).parameters.values())
    if len(have) < len(want):
        return f"takes {len(have)} parameters, the contract {len(want)}"
    for h, w in zip(have, want):
        if (h.name, h.kind, h.default) != (w.name, w.kind, w.default):
            return f"parameter {h} where the contract has {w}"
    extra = [str(p) for p in have[len(want):] if p.default is inspect.Parameter.empty]
    return f"extra parameters without defaults: {', '.join(extra)}" if extra else None


def contract_problems(cls: type) -> list[str]:
    """What keeps the class `cls` from meeting the contract (empty when it does): a method of
    :class:`Backend` missing or with another signature, ``name`` or ``capabilities``
    missing, a declared capability unknown or not implemented, or one implemented (all or
    part of its methods) but not declared.  Checks the class, so it needs no device."""
    problems = []
    if not isinstance(getattr(cls, "name", None), str):
        problems.append("no str attribute 'name'")
    declared = getattr(cls, "capabilities", None)
    if not isinstance(declared, frozenset):
        problems.append("no frozenset attribute 'capabilities'")
        declared = frozenset()
    problems += [f"unknown capability {c!r}" for c in sorted(declared - CAPABILITIES.keys())]
    required = [("", Backend, True)] + [(f" (capability {c!r})", p, c in declared)
                                        for c, p in CAPABILITIES.items()]
    for label, protocol, needed in required:
        methods = protocol_methods(protocol)
        present = [m for m in methods if callable(getattr(cls, m, None))]
        if not needed:
            if present:
                problems.append(f"implements {', '.join(present)}{label} without declaring it")
            continue
        for m in methods:
            if m not in present:
                problems.append(f"no method {m}{label}")
            elif (why := _signature_problem(getattr(cls, m), getattr(protocol, m))):
                problems.append(f"{m}{label}: {why}")
    return problems


__all__ = ["Backend", "CAPABILITIES", "FixedBase", "Join", "ProverScalars", "QapQuotient",
           "contract_problems", "protocol_methods", "supports"]
