def is_error_body(body) -> bool:
    """`{"detail": "..."}` or `{"<field>": ["message", ...]}`: the contract's two error shapes."""
    if not isinstance(body, dict) or not body:
        return False
    if set(body) == {"detail"}:
        return isinstance(body["detail"], str)
    return all(
        isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages)
        for messages in body.values()
    )
