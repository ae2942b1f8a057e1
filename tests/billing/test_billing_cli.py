"""`station payments vietqr`: the DOMAIN §10 worked example, and bad input (exit 2, Vietnamese message)."""

from __future__ import annotations

import pytest

from station.billing.vietqr import parse_vietqr

WORKED = ("00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA53037045406150000"
          "5802VN62190815TYT XA PHI KHAM63046DD2")
STATIC = ("00020101021138570010A00000072701270006970436011300110012345670208QRIBFTTA53037045802VN6304E8DB")


def test_reproduces_the_domain_worked_example(runner):
    result = runner.invoke(args=["payments", "vietqr", "--bin", "970436", "--account", "0011001234567",
                                 "--amount", "150000", "--purpose", "TYT XA PHI KHAM"])
    assert result.exit_code == 0 and result.output.strip() == WORKED
    grouped = runner.invoke(args=["payments", "vietqr", "--bin", "970436", "--account", "0011001234567",
                                  "--amount", "150.000", "--purpose", "TYT XÃ PHÍ KHÁM"])
    assert grouped.output.strip() == WORKED
    static = runner.invoke(args=["payments", "vietqr", "--bin", "970436", "--account", "0011001234567"])
    assert static.output.strip() == STATIC
    assert parse_vietqr(WORKED).amount == 150_000


@pytest.mark.parametrize(("args", "message"), [
    (["--amount", "150000.5"], "số nguyên đồng"),
    (["--amount", "0"], "lớn hơn 0"),
    (["--bin", "97043"], "6 chữ số"),
    (["--purpose", "Phí khám & thuốc"], ""),
])
def test_bad_input_exits_2_with_a_vietnamese_message(runner, args, message):
    base = {"--bin": "970436", "--account": "0011001234567", "--amount": "150000"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    result = runner.invoke(args=["payments", "vietqr", *[p for pair in base.items() for p in pair]])
    assert result.exit_code == 2 and result.output.startswith("Lỗi: ") and message in result.output
