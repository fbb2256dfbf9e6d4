"""Pure, bounded parsers of wire formats that more than one stage reads (no stage imports).

The inventory reads DNS messages for names and roles, detection reads DNS answers for threat
intelligence; both use :mod:`hedgerow.wire.dns`, and :mod:`hedgerow.wire.base` holds the
error type every payload parser raises.

Example:
    >>> from hedgerow.wire.dns import dns_answers
    >>> dns_answers(b"not dns").records
    ()
"""
