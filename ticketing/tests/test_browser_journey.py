"""The fan's journey in a real browser (Chromium, driven by Playwright) against
a real Daphne server, the real waiting room and the real store door:

join the queue → live position over the WebSocket → the admitter process's
tick makes the offer → the page fetches the pass and goes to the store on its own → pick
two seats on the SVG map → hold → the cart counts down. Then a second fan's
stale map: the seats went to someone else, and the page says so. The seat
map in Spanish, Catalan and English (every seat in its own place; axe-core
finds no serious or critical violation), from the keyboard, and on a phone
(tap to zoom to finger size).

The rest of the journey, paid in localstripe's test Stripe.js (served by
the test run's private localstripe, `localstripe_url`): the cart's "Pay" →
the checkout page (amount, seats, fees, time left) → a test card → the
tickets with their QR codes, on a phone in Spanish; a 3-D Secure card
confirmed in the bank's prompt, from the keyboard; a declined card and a
failed 3-D Secure, each told in the fan's words with the cart given back,
then another card that pays while the page shows "processing your payment"
and polls the order. axe-core checks the checkout and tickets pages.

These are the only tests that run the fans' JavaScript (static/js/seatmap.js,
static/queueroom/waiting.js, static/js/checkout.js). `make test` installs
Chromium when it can; without it these tests are skipped with the reason shown.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.testing import ChannelsLiveServerTestCase
from django.conf import settings
from django.test import override_settings
from django.utils import translation
from playwright.sync_api import expect

from inventory import selectors
from inventory.models import Event, InventoryItem, Order, OrderStatus, PriceTier, Section
from inventory.services import catalog, demo, holds
from payments.models import Payment, PaymentStatus, Ticket
from queueroom import keys, messages, services
from queueroom import redis_scripts as rs
from ticketing import memo
from ticketing.tests.browsers import CHROMIUM, chromium


def words(language: str, text: str) -> str:
    """``text`` as the page shows it in ``language``."""
    with translation.override(language):
        return translation.gettext(text)


pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (make test installs it with apt when it can)"
)


@pytest.fixture(scope="class")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="class", autouse=True)
def _stripe_for_the_live_server(localstripe_url: str) -> Iterator[None]:
    """The live server is a process forked when the class starts (setUpClass,
    after this module's class fixtures): it must be born knowing the test
    run's private localstripe, whose Stripe.js the checkout page loads."""
    with override_settings(STRIPE_API_BASE=localstripe_url, STRIPE_JS_URL=""):
        yield


@pytest.mark.usefixtures("browser")
class TestFanJourney(ChannelsLiveServerTestCase):
    host = "127.0.0.1"
    serialized_rollback = False

    @pytest.fixture(autouse=True)
    def _inject(self, browser: Any) -> Iterator[None]:
        self.browser = browser
        yield
        c = rs.client()
        found = list(c.scan_iter(match=f"{keys.prefix()}*", count=1000))
        if found:
            c.delete(*found)
        memo.clear_all()

    def setUp(self) -> None:
        self.event, _ = demo.seed_small()
        # One live server serves the whole class, and it remembers events by
        # slug for a few seconds (selectors.store_event): each test's event
        # gets a slug of its own, or the previous test's would answer.
        Event.objects.filter(pk=self.event.pk).update(
            slug=f"demo-{uuid.uuid4().hex[:8]}", admission_rate_per_minute=60, max_in_store=100
        )
        self.event.refresh_from_db()
        services.forget_setup(self.event.pk)
        # The first tick after the sale opened opens the general lane (the
        # admitter only ticks events fans have joined).
        services.tick(event=self.event, now=time.time())
        self.admitter = self.start_admitter()

    def tearDown(self) -> None:
        self.admitter.terminate()
        self.admitter.wait(10)

    def start_admitter(self) -> subprocess.Popen[bytes]:
        """The real admitter process (`manage.py run_admitter`), on this test's
        database and Redis key prefix: it ticks once a second and publishes
        each tick to the channel layer, where the live server's hub fans it
        out to the waiting pages."""
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_admitter", "--ticks", "120"],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
            stdout=subprocess.DEVNULL,
        )

    def fan(self, language: str = "en", viewport: tuple[int, int] = (1000, 900), touch: bool = False) -> Any:
        """A new browser whose fan reads ``language`` (the Accept-Language
        of a browser set up in it, as the site picks it on a first visit)."""
        width, height = viewport
        context = self.browser.new_context(
            locale={"en": "en-US", "es": "es-ES", "ca": "ca-ES"}[language],
            viewport={"width": width, "height": height},
            has_touch=touch,
            is_mobile=touch,
        )
        self.addCleanup(context.close)  # its pages stop polling when the test ends
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    def admit(self, page: Any, language: str = "en", *, see_position: bool = False) -> None:
        """Join on the waiting page, then wait for the admitter's tick and
        the page, told over its WebSocket, to take the fan to the store.
        ``see_position``: first see the live position (a tick coming right
        after the join may admit the fan before it is ever shown)."""
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/queue/")
        if see_position:  # held in the line until the page has shown the place
            services.set_paused(event=self.event, paused=True)
        page.get_by_role("button", name=words(language, "Join the queue")).click()
        if see_position:
            page.locator('[data-q="position"]').wait_for()
            services.set_paused(event=self.event, paused=False)
        page.wait_for_url(re.compile(rf".*/events/{self.event.slug}/(?!queue/).*"), timeout=30_000)

    def open_section(self, page: Any, code: str) -> None:
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/buy/{code}/")

    def choose_two_seats(self, page: Any) -> list[str]:
        self.open_section(page, "A")
        seats = page.locator("svg#seatmap .seat.avail")
        ids = [seats.nth(n).get_attribute("data-id") for n in (11, 12)]
        for n in (11, 12):
            seats.nth(n).click()
        assert page.locator('svg#seatmap .seat[aria-selected="true"]').count() == 2
        return ids

    def hold_two_seats(self, page: Any, language: str) -> Order:
        self.choose_two_seats(page)
        page.get_by_role("button", name=words(language, "Hold these seats")).click()
        page.wait_for_url(re.compile(r".*/orders/[0-9a-f-]+/$"))
        found = re.search(r"/orders/([0-9a-f-]+)/$", page.url)
        assert found
        return Order.objects.get(pk=found.group(1))

    def go_to_payment(self, page: Any, language: str, order: Order) -> None:
        """The cart's one next step, "Pay <total> €", to the checkout page,
        whose card form shows once Stripe.js has drawn it."""
        pay = page.get_by_role("button", name=paying(language, order))
        assert pay.is_visible()
        pay.click()
        page.wait_for_url(re.compile(rf".*/orders/{order.pk}/pay/$"))
        page.locator("#pay-form").wait_for()  # hidden until Stripe.js mounted the card field

    def type_card(self, page: Any, language: str, number: str, *, email: str | None = "fan@example.com") -> None:
        """Fill the fields of localstripe's card form by their names."""
        if email is not None:
            page.get_by_label(words(language, "E-mail for your tickets")).fill(email)
        page.get_by_label(words(language, "Card number")).fill(number)
        page.get_by_label(words(language, "Expiry month (MM)")).fill("12")
        page.get_by_label(words(language, "Expiry year (YY)")).fill("30")
        page.get_by_label(words(language, "Security code (CVC)")).fill("123")
        page.get_by_label(words(language, "Postal code")).fill("08001")

    def see_tickets(self, page: Any, language: str, order: Order) -> None:
        page.wait_for_url(re.compile(rf".*/orders/{order.pk}/tickets/$"), timeout=30_000)
        assert page.get_by_role("heading", name=words(language, "My tickets")).is_visible()
        codes = page.get_by_role("img", name=words(language, "QR code of the ticket"))
        assert codes.count() == 2
        assert all((codes.nth(n).get_attribute("src") or "").startswith("data:image/svg+xml") for n in range(2))
        shown = page.locator(".ticket code").all_inner_texts()
        assert sorted(shown) == sorted(Ticket.objects.filter(order=order).values_list("code", flat=True))

    def test_the_whole_journey_on_a_phone_from_the_queue_to_the_tickets(self) -> None:
        """Queue → admitted → two seats → cart → "Pay" → the checkout page,
        then a test card in localstripe's Stripe.js form → the tickets, with
        a QR code each. In Spanish, at 390×844: no page scrolls sideways,
        and axe-core passes the checkout and the tickets pages."""
        language = "es"
        page = self.fan(language, viewport=(390, 844), touch=True)
        self.admit(page, language)
        order = self.hold_two_seats(page, language)
        assert no_sideways_scroll(page)
        self.go_to_payment(page, language, order)

        order.refresh_from_db()
        assert order.status == OrderStatus.PAYMENT_PENDING  # the seats are kept while the fan types
        summary = page.locator(".order-summary")
        assert summary.locator("tbody tr").count() == 2  # the seats
        fees = sum(line["fee"] for line in selectors.order_lines(order))
        assert summary.locator("tr.fees td").inner_text() == f"{fees:.2f}".replace(".", ",") + " €"
        assert summary.locator("tr.total td").inner_text() == f"{order.total:.2f}".replace(".", ",") + " €"
        assert re.fullmatch(r"00:1[45]:\d\d", page.locator(".checkout .countdown").inner_text().strip())
        assert no_sideways_scroll(page)
        assert_accessible(page)

        self.type_card(page, language, "4242424242424242")
        assert no_sideways_scroll(page)
        page.get_by_role("button", name=paying(language, order)).tap()
        self.see_tickets(page, language, order)
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert Payment.objects.get(order=order).email == "fan@example.com"
        assert no_sideways_scroll(page)
        assert_accessible(page)

        # "My tickets" is one step from the cart and from the event page.
        page.goto(f"{self.live_server_url}/orders/{order.pk}/")
        page.get_by_role("link", name=words(language, "My tickets")).click()
        page.wait_for_url(re.compile(rf".*/orders/{order.pk}/tickets/$"))
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/")
        assert page.locator(f'.your-cart a[href="/orders/{order.pk}/tickets/"]').is_visible()

    def test_a_3d_secure_card_is_confirmed_in_the_banks_prompt_from_the_keyboard(self) -> None:
        """Card 4000 0027 6000 3184 asks for 3-D Secure: localstripe's
        Stripe.js shows its prompt (focus on "Complete authentication"),
        Enter confirms it, and the page gets the tickets. Keyboard only."""
        language = "ca"
        page = self.fan(language)
        self.admit(page, language)
        order = self.hold_two_seats(page, language)
        page.get_by_role("button", name=paying(language, order)).focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf".*/orders/{order.pk}/pay/$"))
        page.locator("#pay-form").wait_for()

        page.get_by_label(words(language, "E-mail for your tickets")).focus()
        page.keyboard.type("fan@example.com")
        page.keyboard.press("Tab")  # into the card field
        assert focused(page, "aria-label") == words(language, "Card number")
        page.keyboard.type("4000002760003184")  # localstripe moves on by itself from here
        page.keyboard.type("12")
        page.keyboard.type("30")
        page.keyboard.type("123")
        page.keyboard.type("08001")
        page.keyboard.press("Enter")  # submits the form

        prompt = page.get_by_role("button", name="Complete authentication")
        prompt.wait_for()
        assert page.evaluate("document.activeElement.textContent") == "Complete authentication"
        assert Payment.objects.get(order=order).status == PaymentStatus.PENDING
        page.keyboard.press("Enter")
        self.see_tickets(page, language, order)

    def test_a_declined_card_and_a_failed_3d_secure_then_another_card_pays(self) -> None:
        """Each failure is told in the fan's words, nothing is charged and
        the order is back in the cart (HELD) with the seats still kept; the
        next "Pay" is a new attempt with a new PaymentIntent."""
        language = "en"
        page = self.fan(language)
        self.admit(page, language)
        order = self.hold_two_seats(page, language)
        self.go_to_payment(page, language, order)
        alert = page.get_by_role("alert")

        self.type_card(page, language, "4000000000000341")  # declined when charged
        page.get_by_role("button", name=paying(language, order)).click()
        alert.get_by_text(fan_words(language, "card_declined")).wait_for()
        order.refresh_from_db()
        assert order.status == OrderStatus.HELD
        assert order.inventory_items.filter(status="SOFT_LOCKED").count() == 2

        self.type_card(page, language, "4000000000003220", email=None)  # asks for 3-D Secure
        page.get_by_role("button", name=paying(language, order)).click()
        page.get_by_role("button", name="Fail authentication").click()
        alert.get_by_text(fan_words(language, "authentication_failed")).wait_for()
        order.refresh_from_db()
        assert order.status == OrderStatus.HELD
        assert_accessible(page)

        # This time the server answers as the payments queue does while a
        # worker confirms: not paid yet. The page says so and polls the order.
        def queued(route: Any) -> None:
            route.fetch()  # the real confirmation (it pays at once here)
            body = {"order_id": str(order.pk), "status": "PAYMENT_PENDING", "processing": True}
            route.fulfill(status=202, json=body)

        page.route(f"**/api/v1/orders/{order.pk}/pay/", queued)
        self.type_card(page, language, "4242424242424242", email=None)
        page.get_by_role("button", name=paying(language, order)).click()
        page.get_by_role("heading", name=words(language, "Processing your payment…")).wait_for()
        self.see_tickets(page, language, order)
        assert list(Payment.objects.filter(order=order).order_by("attempt").values_list("status", flat=True)) == [
            PaymentStatus.FAILED,
            PaymentStatus.FAILED,
            PaymentStatus.PAID,
        ]

    def test_the_waiting_page_places_itself_from_the_shared_frame(self) -> None:
        """Every tick the server sends all fans of the event one identical
        ``queue.tick``; the page computes its own position from it and the
        place it was told on connect (waiting.js ``fromFrame``, the same
        arithmetic as queueroom.messages.frame_state)."""

        services.set_paused(event=self.event, paused=True)  # nobody moves but the leavers
        now = time.time()
        ahead = [services.join(event=self.event, fan_id=f"ahead-{i}", now=now)[0] for i in range(5)]
        page = self.fan()
        sockets: list[Any] = []
        received: list[str] = []

        def opened(ws: Any) -> None:
            sockets.append(ws)
            ws.on("framereceived", lambda payload: received.append(payload))

        page.on("websocket", opened)
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/queue/")
        page.get_by_role("button", name="Join the queue").click()
        page.locator('[data-q="position"]').wait_for()
        expect(page.locator('[data-q="updated"]')).not_to_be_empty()
        left = time.time()
        for i in (1, 2):  # two fans ahead leave: the frame carries them beyond the front
            services.leave(token=ahead[i].token, fan_id=f"ahead-{i}", now=left)  # type: ignore[arg-type]

        def after_the_leavers(payload: str) -> bool:
            message = json.loads(payload)
            return bool(message["type"] == "queue.tick" and message["updated_at"] > left)

        # Frames from whichever socket the page has: under a loaded test run
        # a handshake can be reset, and the page connects again (waiting.js),
        # getting its place anew on the new socket.
        deadline = time.monotonic() + 30
        while (raw := next((m for m in received if after_the_leavers(m)), None)) is None:
            assert time.monotonic() < deadline, f"no queue.tick after the leavers on {len(sockets)} socket(s)"
            page.wait_for_timeout(100)  # lets Playwright deliver the frames as they come
        frame = json.loads(raw)
        told = [json.loads(m) for m in received if json.loads(m)["type"] == "queue.state"][-1]
        state = messages.frame_state(frame, lane=told["lane"], place=told["place"])
        assert state is not None and state.position == told["position"] - 2  # both leavers were ahead
        expect(page.locator('[data-q="position"]')).to_have_text(str(state.position))
        expect(page.locator('[data-q="ahead"]')).to_have_text(str(state.ahead))
        expect(page.locator('[data-q="total"]')).to_have_text(str(frame["waiting"]))
        expect(page.locator('[data-q="eta"]')).to_have_text("when the queue resumes")

    def test_queue_to_cart_with_live_updates_and_a_taken_seat(self) -> None:
        first = self.fan()
        self.admit(first, see_position=True)
        # Admission is visible: the fan's turn, one way in, the session counting down.
        assert first.get_by_role("heading", name="It's your turn").is_visible()
        assert re.fullmatch(r"00:(29|30):\d\d", first.locator("[data-store-session]").inner_text().strip())
        chosen = self.choose_two_seats(first)

        second = self.fan()
        self.admit(second)
        stale = self.choose_two_seats(second)  # the same two seats, still free on this map
        assert stale == chosen

        first.get_by_role("button", name="Hold these seats").click()
        first.wait_for_url(re.compile(r".*/orders/[0-9a-f-]+/$"))
        assert first.get_by_role("heading", name="Your tickets").is_visible()
        assert re.fullmatch(r"00:(09|10):\d\d", first.locator(".countdown").first.inner_text().strip())
        order = Order.objects.get()
        assert sorted(str(i) for i in order.inventory_items.values_list("id", flat=True)) == sorted(chosen)

        second.get_by_role("button", name="Hold these seats").click()
        second.wait_for_load_state()
        assert second.get_by_text("someone else took 2 of your seats").is_visible()
        for seat_id in chosen:  # now drawn as taken on the second fan's map
            seat = second.locator(f'#seatmap .seat[data-id="{seat_id}"]')
            assert "taken" in (seat.get_attribute("class") or "")
            assert seat.get_attribute("aria-disabled") == "true"
        assert Order.objects.count() == 1
        assert InventoryItem.objects.filter(event=self.event, status="SOFT_LOCKED").count() == 2

    def test_the_seat_map_draws_every_seat_in_its_place_in_every_language(self) -> None:
        """Issue 10: in Spanish and Catalan the coordinates came out as
        cx="10,0", which the browser refuses, and all 50 seats sat on one dot.
        Each language's page also passes axe-core (no serious or critical
        violation), the seat map and the standing section's page alike."""
        for language in ("es", "ca", "en"):
            page = self.fan(language)
            self.admit(page, language)
            self.open_section(page, "A")
            assert page.locator("html").get_attribute("lang") == language
            seats = page.locator("svg#seatmap .seat")
            assert seats.count() == 50
            assert len(set(centres(seats))) == 50, f"{language}: seats drawn on top of each other"
            # The venue overview draws both sections, apart, each a way in.
            boxes = page.locator(".venue-overview .ov-section")
            assert boxes.count() == 2 and len(set(centres(boxes))) == 2
            assert_accessible(page)
            self.open_section(page, "PISTA")
            assert_accessible(page)
            page.context.close()

    def test_the_seat_map_works_from_the_keyboard(self) -> None:
        """One Tab stop for the whole map; arrows move between seats, taken
        ones included (announced as taken, not choosable); Enter and Space
        choose; the hold button then sends what was chosen."""
        taken = InventoryItem.objects.filter(event=self.event, section__code="A", row_label="A", number=2).get()
        holds.hold_seats(event=self.event, owner="someone-else", seat_ids=[taken.pk])
        page = self.fan("es")
        self.admit(page, "es")
        self.open_section(page, "A")
        hold = page.get_by_role("button", name=words("es", "Hold these seats"))
        assert hold.get_attribute("aria-disabled") == "true"

        page.get_by_role("button", name=words("es", "Zoom in")).focus()
        page.keyboard.press("Tab")
        assert focused(page, "role") == "gridcell"
        assert focused(page, "aria-label") == "Fila A, asiento 1, 65 € + 6,50 € de gastos"  # the price in the name
        first = focused(page, "data-id")
        page.keyboard.press("ArrowRight")  # A-2, taken by someone else
        label = focused(page, "aria-label")
        assert focused(page, "aria-disabled") == "true"
        assert label == words("es", "Row %(row)s, seat %(number)s, taken") % {"row": "A", "number": 2}
        page.keyboard.press("Enter")
        assert page.locator('#seatmap .seat[aria-selected="true"]').count() == 0
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        page.keyboard.press("ArrowDown")  # B-3
        page.keyboard.press(" ")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        assert focused(page, "data-id") == first
        chosen = page.locator('#seatmap .seat[aria-selected="true"]')
        assert chosen.count() == 2
        assert page.locator("#seatmap [tabindex='0']").count() == 1  # roving tabindex
        page.keyboard.press("Tab")  # out of the map in one step
        assert focused(page, "role") != "gridcell"
        assert hold.get_attribute("aria-disabled") is None

        hold.click()
        page.wait_for_url(re.compile(r".*/orders/[0-9a-f-]+/$"))
        order = Order.objects.exclude(owner="someone-else").get()
        assert sorted(order.inventory_items.values_list("row_label", "number")) == [("A", 3), ("B", 3)]

    def test_a_big_section_on_a_phone_zooms_to_finger_size(self) -> None:
        """At 390 px a 36-seat row is drawn about 9 px per seat: a tap zooms
        in (seats at least 24 px apart) instead of choosing a seat the
        finger cannot aim at; the next tap chooses. The page itself never
        scrolls sideways. A 10-seat section is drawn at tap size at once."""
        section = Section.objects.create(
            venue=self.event.venue, code="W", name="Wide", sort_order=9, map_x=300, map_y=600
        )
        catalog.generate_seats(section=section, rows=list("ABCDEFGH"), seats_per_row=[36] * 8)
        PriceTier.objects.create(event=self.event, section=section, name="Wide", price="30.00", fee="3.00")
        catalog.create_event_inventory(event=self.event)

        page = self.fan("ca", viewport=(390, 844), touch=True)
        self.admit(page, "ca")
        self.open_section(page, "A")
        assert seat_pitch(page) >= 24
        self.open_section(page, "W")
        assert seat_pitch(page) < 24
        hint = page.get_by_text(words("ca", "Tap the map to zoom in, then choose your seats."))
        assert hint.is_visible()
        page.locator("#seatmap").scroll_into_view_if_needed()
        box = page.locator("#seatmap").bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator(".seatmap-viewport.zoomed").wait_for()
        assert seat_pitch(page) >= 24
        assert page.locator('#seatmap .seat[aria-selected="true"]').count() == 0  # the tap only zoomed
        assert not hint.is_visible()
        viewport = page.locator(".seatmap-viewport").bounding_box()
        page.touchscreen.tap(viewport["x"] + viewport["width"] / 2, viewport["y"] + viewport["height"] / 2)
        assert page.locator('#seatmap .seat[aria-selected="true"]').count() == 1
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
        assert_accessible(page)
        page.get_by_role("button", name=words("ca", "Whole section")).tap()
        assert seat_pitch(page) < 24


def paying(language: str, order: Order) -> str:
    """The pay button's name: "Pay 143,00 €" (the total as the language writes it)."""
    with translation.override(language):
        from django.utils.formats import localize

        return translation.gettext("Pay %(amount)s €") % {"amount": localize(order.total)}


def fan_words(language: str, code: str) -> str:
    """The fan's words for an error code (ticketing/error_texts.py)."""
    from ticketing.error_texts import fan_message
    from ticketing.errors import DomainError

    with translation.override(language):
        return fan_message(DomainError(code=code))


def no_sideways_scroll(page: Any) -> bool:
    width: int = page.evaluate("document.scrollingElement.scrollWidth")
    return width <= page.viewport_size["width"]


def centres(locator: Any) -> list[tuple[int, int]]:
    """Where each element of ``locator`` is drawn: its box's centre, in px."""
    boxes = [locator.nth(n).bounding_box() for n in range(locator.count())]
    return [(round(b["x"] + b["width"] / 2), round(b["y"] + b["height"] / 2)) for b in boxes if b]


def seat_pitch(page: Any) -> float:
    """Pixels between the centres of the first two seats of the first row."""
    pitch: float = page.evaluate(
        """() => {
            const [a, b] = document.querySelectorAll("#seatmap [role=row] .seat");
            const x = (el) => { const r = el.getBoundingClientRect(); return r.left + r.width / 2; };
            return Math.abs(x(b) - x(a));
        }"""
    )
    return pitch


def focused(page: Any, attribute: str) -> str | None:
    value: str | None = page.evaluate("(name) => document.activeElement.getAttribute(name)", attribute)
    return value


def assert_accessible(page: Any) -> None:
    """axe-core (static/vendor/axe) on the page as it stands: no serious or
    critical violation."""
    page.add_script_tag(url=f"{settings.STATIC_URL}vendor/axe/axe.min.js")
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad
