"""The group Belenios 2.0 calls BELENIOS-2048, and the arithmetic every message uses.

The specification (Belenios 2.0, section 5.1) fixes a 2048-bit prime p, a 256-bit prime q
dividing p - 1 and a generator g of the order-q subgroup of Z*p. Exponents are numbers
modulo q; group elements are numbers modulo p that lie in that subgroup. Big-integer
arithmetic is GMP's, through gmpy2.

Only this group is supported: it is the one Belenios uses for elections whose questions
are all homomorphic, which are the only kind ecitizen runs (RFC-3526-2048 serves
non-homomorphic questions and their shuffles).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass

import gmpy2
from gmpy2 import mpz

__all__ = ["BELENIOS_2048", "Group", "UnsupportedGroup", "group_named"]


@dataclass(frozen=True)
class Group:
    """A prime-order subgroup of Z*p: its name as written in elections, p, q and g."""

    name: str
    p: mpz
    q: mpz
    g: mpz

    def power(self, base: int, exponent: int) -> mpz:
        """base^exponent mod p; from a precomputed table when the base has one (g, and
        each election's public key: see :meth:`precompute`)."""
        table = _TABLES.get((self.p, base))
        if table is not None and 0 <= exponent < _TABLE_LIMIT:
            return _table_power(table, self.p, exponent)
        return gmpy2.powmod(base, exponent, self.p)

    def g_power(self, exponent: int) -> mpz:
        """g^exponent mod p."""
        return self.power(self.g, exponent)

    def precompute(self, base: int) -> None:
        """Keep a table of base^(d·256^j) for every byte value d and position j, so that
        later powers of this base with exponents below 2^256 (all of the protocol's) cost
        about 32 multiplications instead of a full exponentiation: some six times faster.
        The table takes about 2 MB; the last few bases' tables are kept."""
        key = (self.p, mpz(base))
        if key in _TABLES:
            _TABLES.move_to_end(key)
            return
        rows = []
        current = mpz(base)
        for _ in range(_TABLE_LIMIT.bit_length() // _WINDOW):
            row = [mpz(1)]
            for _ in range(1, 1 << _WINDOW):
                row.append(gmpy2.f_mod(row[-1] * current, self.p))
            rows.append(row)
            current = gmpy2.f_mod(row[-1] * current, self.p)
        _TABLES[key] = rows
        while len(_TABLES) > _TABLES_KEPT:
            _TABLES.popitem(last=False)

    def multiply(self, *factors: int) -> mpz:
        """The product of the factors mod p."""
        product = mpz(1)
        for factor in factors:
            product = gmpy2.f_mod(product * factor, self.p)
        return product

    def divide(self, a: int, b: int) -> mpz:
        """a / b in the group (b must be invertible mod p)."""
        return gmpy2.f_mod(mpz(a) * gmpy2.invert(b, self.p), self.p)

    def is_element(self, x: int) -> bool:
        """True when x is in the order-q subgroup (x^q = 1 mod p). Every group element
        received must be: one outside the subgroup could leak a secret through a proof."""
        return 1 <= x < self.p and gmpy2.powmod(x, self.q, self.p) == 1

    def random_exponent(self) -> mpz:
        """A uniformly random number modulo q from the operating system's generator."""
        return mpz(secrets.randbelow(int(self.q)))

    def hash_to_exponent(self, text: str) -> mpz:
        """SHA-256 of the UTF-8 text read as a big-endian number, reduced modulo q: the
        challenge of every zero-knowledge proof in the specification."""
        digest = hashlib.sha256(text.encode()).digest()
        return gmpy2.f_mod(mpz(int.from_bytes(digest, "big")), self.q)


_WINDOW = 8
_TABLE_LIMIT = 1 << 256
_TABLES_KEPT = 16
_TABLES: OrderedDict[tuple[mpz, mpz], list[list[mpz]]] = OrderedDict()


def _table_power(rows: list[list[mpz]], p: mpz, exponent: int) -> mpz:
    result = mpz(1)
    value = int(exponent)
    mask = (1 << _WINDOW) - 1
    for row in rows:
        if not value:
            break
        digit = value & mask
        if digit:
            result = gmpy2.f_mod(result * row[digit], p)
        value >>= _WINDOW
    return result


BELENIOS_2048 = Group(
    name="BELENIOS-2048",
    p=mpz(
        "20694785691422546401013643657505008064922989295751104097100884787057374219242717"
        "40192223725449768433812906663313807895840496005438963628979639303877390572280360"
        "59737494276713767776188985898727358650490811670993105358677809800307904916540637"
        "77173764198678527273474476341835600035698305193144284561701911000786737307333564"
        "12397173289791324047457883446826065232797464795113767265869358218004631792207366"
        "88600526271863633860887968821207694323661494910029234443463732221458841005864210"
        "50242120365433561201320481118852408731077014151666200162313177169372189248078507"
        "711827842317498073276598828825169183103125680162072880719"
    ),
    q=mpz("78571733251071885079927659812671450121821421258408794611510081919805623223441"),
    g=mpz(
        "24023526775018522092276877035323999327122876573783649165100753187876632741463532"
        "19320285676155269678799694668298749389095083896573425601900601068477164491735474"
        "13728310461045868131451178164675540052740288984613986453266121505579709716201616"
        "82703128864324566638348636357821061549184199825343151897406581868686511513585764"
        "10138882215396016043228843603930989333662772848406593138406010231675095763777982"
        "66510360682240663507669776402534625377308513317349519424896775405257365904949247"
        "76314759915751987751777114814909204566002054781270547282381409725186398583341157"
        "00568353695553423781475582491896050296680037745308460627"
    ),
)


class UnsupportedGroup(ValueError):
    """An election names a group this package does not implement."""


def group_named(name: str) -> Group:
    """The group an election names; raises UnsupportedGroup for any other name."""
    if name == BELENIOS_2048.name:
        return BELENIOS_2048
    raise UnsupportedGroup(
        f"group {name!r} is not supported: only {BELENIOS_2048.name} (homomorphic questions)"
    )


BELENIOS_2048.precompute(BELENIOS_2048.g)
