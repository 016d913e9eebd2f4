"""The proofs an account can give before a sensitive act, and where a code went, as shown."""

from __future__ import annotations

import pytest

from gateway.domain.security import (
    AccountSecurityState,
    SecondFactorMethod,
    SecondFactorState,
    StepUpMethod,
    in_sentence,
    masked_destination,
    step_up_methods,
)

M, S = SecondFactorMethod, StepUpMethod


def state(method: SecondFactorMethod, passkeys: int = 0) -> AccountSecurityState:
    return AccountSecurityState(False, SecondFactorState(method, None, 0), None, passkeys)


@pytest.mark.parametrize(
    ("method", "mobile", "passkeys", "expected"),
    [
        (M.NONE, True, 0, [S.EMAIL_CODE, S.SMS_CODE]),
        (M.NONE, False, 0, [S.EMAIL_CODE]),  # no mobile: no SMS
        (M.TOTP, True, 0, [S.TOTP, S.RECOVERY_CODE]),  # the CRM sends no code for TOTP
        (M.EMAIL, True, 0, [S.EMAIL_CODE, S.RECOVERY_CODE]),
        (M.SMS, True, 2, [S.PASSKEY, S.SMS_CODE, S.RECOVERY_CODE]),
    ],
)
def test_the_proofs_offered_follow_the_crm_table(
    method: SecondFactorMethod, mobile: bool, passkeys: int, expected: list[StepUpMethod]
) -> None:
    assert step_up_methods(state(method, passkeys), has_mobile=mobile) == expected


def test_destinations_are_masked_and_labels_read_inside_a_sentence() -> None:
    assert masked_destination("chris.martin@example.fr") == "c***@example.fr"
    assert masked_destination("+33634876409") == "+33 6 ** ** ** 09"
    assert in_sentence(S.SMS_CODE.label) == "code reçu par SMS"
