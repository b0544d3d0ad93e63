"""E-mail backends for the tests: Django's locmem outbox, with an SMTP
server that fails or stalls on demand."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.locmem import EmailBackend


class FlakyBackend(EmailBackend):
    """Fails the next ``failures`` sends as a dropped SMTP connection would."""

    failures = 0

    def send_messages(self, messages: Sequence[Any]) -> int:
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


class StallingBackend(EmailBackend):
    """Says it is sending (``sending``), then waits for ``release``."""

    sending = threading.Event()
    release = threading.Event()

    def send_messages(self, messages: Sequence[Any]) -> int:
        StallingBackend.sending.set()
        assert StallingBackend.release.wait(30), "the test never released the SMTP server"
        return super().send_messages(messages)
