"""SMS and voice calls through the official ``twilio`` SDK.

SMS go out from ``TWILIO_FROM_NUMBER`` or through ``TWILIO_MESSAGING_SERVICE_SID``;
a voice call reads the code with TwiML ``<Say>``, after dialling the phone
extension (``send_digits``, with a one-second pause) when the factor has one.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.delivery import DeliveryError, Message

#: Twilio error codes that mean "this number cannot receive": not our outage.
INVALID_RECIPIENT_CODES = frozenset({21211, 21214, 21217, 21401, 21407, 21408, 21610, 21614})


class TwilioMessages:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str = "",
        messaging_service_sid: str = "",
        api_base_url: str = "",
        timeout: float = 10.0,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        # A Twilio that does not answer must not hold the request (and a
        # gunicorn worker) until the worker is killed: DELIVERY_TIMEOUT.
        http = TwilioHttpClient(timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=http)
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid

    def send(self, message: Message) -> None:
        try:
            if message.channel == "call":
                self._call(message)
            else:
                self._sms(message)
        except TwilioRestException as exc:
            raise DeliveryError(
                f"Twilio refused the {message.channel}: {exc.code} {exc.msg}",
                invalid_recipient=exc.code in INVALID_RECIPIENT_CODES,
            ) from exc
        # requests' ConnectionError and Timeout (refused, DNS, DELIVERY_TIMEOUT) are OSErrors.
        except OSError as exc:
            raise DeliveryError(
                f"Twilio could not be reached: {type(exc).__name__}", unreachable=True
            ) from exc
        except TwilioException as exc:  # an answer the SDK could not use
            raise DeliveryError(f"Twilio failed the {message.channel}: {exc}") from exc

    def _sms(self, message: Message) -> None:
        if self.messaging_service_sid:
            self.client.messages.create(
                to=message.to, messaging_service_sid=self.messaging_service_sid, body=message.body
            )
        else:
            self.client.messages.create(to=message.to, from_=self.from_number, body=message.body)

    def _call(self, message: Message) -> None:
        if not self.from_number:
            raise DeliveryError("voice calls need TWILIO_FROM_NUMBER")
        twiml = f"<Response><Say>{escape(message.body)}</Say></Response>"
        if message.extension:
            self.client.calls.create(
                to=message.to,
                from_=self.from_number,
                twiml=twiml,
                send_digits="ww" + message.extension,
            )
        else:
            self.client.calls.create(to=message.to, from_=self.from_number, twiml=twiml)
