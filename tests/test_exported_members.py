"""The public API is exactly ``iamguard.__all__``: every name resolves, nothing private leaks."""

import iamguard


def test_all_names_resolve() -> None:
    for name in iamguard.__all__:
        assert getattr(iamguard, name) is not None, name


def test_all_is_sorted_and_unique() -> None:
    assert list(iamguard.__all__) == sorted(set(iamguard.__all__))


def test_exported_objects_are_public() -> None:
    for name in iamguard.__all__:
        assert not name.startswith("_"), name
        obj = getattr(iamguard, name)
        module = getattr(obj, "__module__", "iamguard")
        assert module.startswith("iamguard"), (name, module)


def test_quick_start_round_trip() -> None:
    """The README quick start, as a test: parse, evaluate, explain."""
    policy = iamguard.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/${aws:username}/*"}
            ],
        },
        name="reports-read",
    )
    alice = iamguard.Principal.from_arn("arn:aws:iam::123456789012:user/alice")
    allowed = iamguard.evaluate(
        iamguard.Request(alice, "s3:GetObject", "arn:aws:s3:::reports/alice/q3.csv"),
        iamguard.PolicySet(identity=(policy,)),
    )
    denied = iamguard.evaluate(
        iamguard.Request(alice, "s3:GetObject", "arn:aws:s3:::reports/bob/q3.csv"),
        iamguard.PolicySet(identity=(policy,)),
    )
    assert allowed.kind is iamguard.DecisionKind.ALLOWED
    assert allowed.matched[0].policy_name == "reports-read"
    assert denied.kind is iamguard.DecisionKind.IMPLICIT_DENY
