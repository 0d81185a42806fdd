"""MFA for GetSessionToken and AssumeRole: ``SerialNumber`` + ``TokenCode`` against the caller's devices.

Part of ``sts/``. Only IAM users and the root user own MFA devices; the serial must name an
enabled device of the caller and the code must be current, else ``AccessDenied``
("MultiFactorAuthentication failed ...").
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from iamguard.errors import STSError
from iamguard.principal import PrincipalType
from iamguard.sts._errors import constraint

if TYPE_CHECKING:
    from iamguard.principal import Principal
    from iamguard.sts._protocols import StsStore

__all__ = ["verify_mfa"]

# botocore's sts/2011-06-15 shapes: serialNumberType and tokenCodeType.
_SERIAL = re.compile(r"[\w+=/:,.@-]{9,256}", re.ASCII)
_TOKEN_CODE = re.compile(r"\d{6}", re.ASCII)


def verify_mfa(store: StsStore | None, caller: Principal, serial: str | None, code: str | None) -> None:
    """The serial names an enabled device of the (user or root) caller and the code is current."""
    if serial is None or _SERIAL.fullmatch(serial) is None:
        raise constraint(
            serial, "serialNumber", "Member must satisfy regular expression pattern: [\\w+=/:,.@-]*"
        )
    if code is None or _TOKEN_CODE.fullmatch(code) is None:
        raise constraint("******", "tokenCode", "Member must satisfy regular expression pattern: [\\d]*")
    if caller.type is PrincipalType.USER:
        user: str | None = caller.name
    elif caller.type is PrincipalType.ACCOUNT:
        user = None
    else:
        raise STSError(
            "MultiFactorAuthentication failed: MFA is only available to IAM users and the root user.",
            code="AccessDenied",
            http_status=403,
        )
    if store is None:
        raise STSError(
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
            code="AccessDenied",
            http_status=403,
        )
    devices = store.list_mfa_devices(user, root=user is None)
    if not any(d.serial_number == serial and d.enabled for d in devices) or not store.verify_mfa_code(
        user, code
    ):
        raise STSError(
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
            code="AccessDenied",
            http_status=403,
        )
