"""BN254 (alt_bn128) parameters as Python ints.

The curve of Ethereum's precompiles (EIP-196/197), circom and snarkjs:
    E  : y^2 = x^3 + 3            over Fq
    E' : y^2 = x^3 + 3 / (9 + u)  over Fq2 = Fq[u] / (u^2 + 1)   (D-type sextic twist)
    Fq6 = Fq2[v] / (v^3 - (9 + u)),  Fq12 = Fq6[w] / (w^2 - v)
Derived constants (twist coefficient, Frobenius coefficients, roots of unity) are
computed here from the primary ones rather than pasted, and tests compare them with
py_ecc.  References: Barreto-Naehrig, "Pairing-friendly elliptic curves of prime order"
(SAC 2005); Beuchat et al., "High-speed software implementation of the optimal ate
pairing over Barreto-Naehrig curves" (eprint 2010/354).
"""

# BN parameter x (often u or z); p and r are polynomials in it.
BN_X = 4965661367192848881

# Base field modulus p = 36x^4 + 36x^3 + 24x^2 + 6x + 1 and group order r = 36x^4 + 36x^3 + 18x^2 + 6x + 1.
P = 36 * BN_X**4 + 36 * BN_X**3 + 24 * BN_X**2 + 6 * BN_X + 1
R = 36 * BN_X**4 + 36 * BN_X**3 + 18 * BN_X**2 + 6 * BN_X + 1

FQ_BITS = P.bit_length()  # 254
FR_BITS = R.bit_length()  # 254

CURVE_B = 3
G1_GENERATOR = (1, 2)

# Fq2 non-residue used for the tower: xi = 9 + u.
XI = (9, 1)

G2_GENERATOR = (
    (10857046999023057135944570762232829481370756359578518086990519993285655852781,
     11559732032986387107991004021392285783925812861821192530917403151452391805634),
    (8495653923123431417604973247489272438418190587263600148770280649306958101930,
     4082367875863433681332203403145435568316851327593401208105741076214120093531),
)

# Optimal ate loop parameter 6x + 2 (Vercauteren, "Optimal pairings", IEEE TIT 2010).
ATE_LOOP_COUNT = 6 * BN_X + 2

# G2 cofactor: #E'(Fq2) = r * (2p - r).
G2_COFACTOR = 2 * P - R


# --- Fq2 = Fq[u]/(u^2 + 1) on Python ints: constants at import time, and a few slow paths --
def fq2_mul_ints(a, b):
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def fq2_pow_ints(a, e):
    result = (1, 0)
    while e:
        if e & 1:
            result = fq2_mul_ints(result, a)
        a = fq2_mul_ints(a, a)
        e >>= 1
    return result


def fq2_inv_ints(a):
    norm_inv = pow(a[0] * a[0] + a[1] * a[1], P - 2, P)
    return (a[0] * norm_inv % P, (-a[1]) * norm_inv % P)


# b' = 3 / xi
TWIST_B = fq2_mul_ints((CURVE_B, 0), fq2_inv_ints(XI))

# Frobenius coefficients gamma[i][j] = xi^(j * (p^i - 1) / 6) for i = 1, 2, 3, j = 0..5.
# Fq12 element sum_j c_j w^j (w^6 = xi) maps under p^i-power Frobenius to
# sum_j conj^i(c_j) * gamma[i][j] w^j.
FROBENIUS_GAMMA = {
    i: tuple(fq2_pow_ints(XI, j * (P**i - 1) // 6) for j in range(6)) for i in (1, 2, 3)
}

# Twisted Frobenius on E' (psi = twist^-1 o Frob o twist) used by the Miller loop and the
# G2 subgroup check: psi(x, y) = (conj(x) * PSI_X, conj(y) * PSI_Y).
PSI_X = FROBENIUS_GAMMA[1][2]  # xi^((p-1)/3)
PSI_Y = FROBENIUS_GAMMA[1][3]  # xi^((p-1)/2)
PSI2_X = FROBENIUS_GAMMA[2][2]  # xi^((p^2-1)/3), lies in Fq
PSI2_Y = FROBENIUS_GAMMA[2][3]  # xi^((p^2-1)/2), lies in Fq (equals -1)

# Fr two-adicity, for radix-2 NTTs: r - 1 = 2^28 * odd.
FR_TWO_ADICITY = ((R - 1) & -(R - 1)).bit_length() - 1
FR_ODD_PART = (R - 1) >> FR_TWO_ADICITY
# 5 generates Fr^* (the same choice as arkworks and gnark); it is also our coset shift.
FR_MULTIPLICATIVE_GENERATOR = 5
FR_ROOT_OF_UNITY = pow(FR_MULTIPLICATIVE_GENERATOR, FR_ODD_PART, R)  # order 2^28
assert FR_TWO_ADICITY == 28
assert pow(FR_ROOT_OF_UNITY, 1 << (FR_TWO_ADICITY - 1), R) == R - 1


def fr_root_of_unity(log_n: int) -> int:
    """A primitive 2^log_n-th root of unity in Fr."""
    if not 0 <= log_n <= FR_TWO_ADICITY:
        raise ValueError(f"Fr has roots of unity of order 2^k only for k <= {FR_TWO_ADICITY}")
    return pow(FR_ROOT_OF_UNITY, 1 << (FR_TWO_ADICITY - log_n), R)
