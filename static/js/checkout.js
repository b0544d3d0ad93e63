// The checkout page's card payment (templates/payments/checkout.html,
// docs/payments.md "The checkout page").
//
// Stripe.js draws the card field (real Stripe: its own frame; localstripe:
// plain inputs in this page, which we name for screen readers). On "Pay":
//   1. POST checkout/ (idempotent): the order in checkout, with the e-mail;
//      after a decline it starts the next attempt, a new PaymentIntent.
//   2. Stripe.js turns the card into a payment method (card data never
//      reaches our server).
//   3. POST pay/: the server confirms. PAID → the tickets. 402 → the fan's
//      words for the code; the order is back in the cart, and the next
//      "Pay" is a new attempt. next_action → Stripe.js shows the bank's
//      3-D Secure step, then POST settle/ asks the server for the outcome.
//   4. Anything still in progress → "Processing your payment", polling
//      GET /api/v1/orders/{id}/ until PAID (or the order is back in the cart).
(function () {
  "use strict";
  var form = document.getElementById("pay-form");
  var configNode = document.getElementById("pay-config");
  if (!form || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var button = document.getElementById("pay-button");
  var errorBox = document.getElementById("pay-error");
  var statusBox = document.getElementById("pay-status");
  var processing = document.getElementById("pay-processing");
  var email = document.getElementById("pay-email");
  var countdown = document.querySelector(".checkout [data-countdown]");
  var busy = false;

  function say(text) { statusBox.textContent = text || ""; }
  function fail(text) {
    processing.hidden = true;
    form.hidden = false;
    say("");
    errorBox.textContent = text;
    errorBox.hidden = false;
    setBusy(false);
  }
  function setBusy(on) {
    busy = on;
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    // The countdown reloads the page at zero; never in the middle of a payment.
    if (countdown) { if (on) countdown.dataset.noReload = ""; else delete countdown.dataset.noReload; }
  }
  function words(code) { return config.errors[code] || config.texts.generic; }

  if (typeof window.Stripe !== "function") {
    // Stripe.js did not load (network, blocked): say so instead of a dead form.
    document.getElementById("pay-unavailable").hidden = false;
    return;
  }
  var stripe = window.Stripe(config.publishable_key, { locale: document.documentElement.lang });
  var elements = stripe.elements({ locale: document.documentElement.lang });
  var card = elements.create("card", { hidePostalCode: true, style: { base: { fontSize: "16px" } } });
  card.mount("#card-element");
  nameFakeFields();
  form.hidden = false;

  // localstripe's fake card field is a row of bare inputs with only a
  // placeholder: give each a name, the right keyboard and autofill hint.
  // (Real Stripe's frame names its own fields.)
  function nameFakeFields() {
    var hints = {
      number: ["cc-number", "numeric"], exp_month: ["cc-exp-month", "numeric"],
      exp_year: ["cc-exp-year", "numeric"], cvc: ["cc-csc", "numeric"], postal_code: ["postal-code", "text"]
    };
    document.querySelectorAll("#card-element input").forEach(function (input) {
      var field = input.getAttribute("placeholder");
      if (config.fields[field] && !input.hasAttribute("aria-label")) {
        input.setAttribute("aria-label", config.fields[field]);
        input.setAttribute("name", "card_" + field);
        if (hints[field]) {
          input.setAttribute("autocomplete", hints[field][0]);
          input.setAttribute("inputmode", hints[field][1]);
        }
      }
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  // A card as Stripe.js gives it: a PaymentMethod (real Stripe), or, where
  // createPaymentMethod answers nothing (localstripe's test Stripe.js), a
  // token whose card id Stripe accepts as a payment method too.
  function paymentMethod() {
    var made = typeof stripe.createPaymentMethod === "function"
      ? Promise.resolve(stripe.createPaymentMethod({ type: "card", card: card }))
      : Promise.resolve(undefined);
    return made.then(function (result) {
      if (result && result.paymentMethod) return { id: result.paymentMethod.id };
      if (result && result.error) return { error: result.error };
      return stripe.createToken(card).then(function (token) {
        if (token && token.token && token.token.card) return { id: token.token.card.id };
        return { error: (token && token.error) || {} };
      });
    });
  }

  // The bank's 3-D Secure step. Real Stripe: handleNextAction; localstripe's
  // test Stripe.js has confirmCardPayment, which shows its own prompt.
  function authenticate(clientSecret) {
    var step = typeof stripe.handleNextAction === "function"
      ? stripe.handleNextAction({ clientSecret: clientSecret })
      : stripe.confirmCardPayment(clientSecret);
    return Promise.resolve(step).catch(function () { return {}; });
  }

  function answered(result) {
    var data = result.data || {};
    if (result.ok && data.status === "PAID") { say(config.texts.paid); location.assign(config.tickets_url); return; }
    if (result.ok && data.next_action && data.next_action.type === "authenticate") {
      say(config.texts.authenticate);
      return authenticate(data.next_action.client_secret).then(function () {
        say(config.texts.processing);
        return post(config.settle_url).then(answered);
      });
    }
    if (result.ok && data.status === "HELD") { fail(config.texts.generic); return; }
    if (result.ok) { waitForPayment(); return; }
    if (data.status && data.status !== "HELD" && data.status !== "PAYMENT_PENDING") {
      // The hold ran out meanwhile: the cart says what is left to do.
      fail(words(data.error));
      document.getElementById("pay-back").hidden = false;
      button.hidden = true;
      return;
    }
    fail(words(data.error));
  }

  // Paid, but settled by a worker (the payments queue, a webhook): poll the
  // order until it is PAID, backing off from 1 s to 5 s.
  function waitForPayment() {
    form.hidden = true;
    processing.hidden = false;
    say(config.texts.processing);
    var delay = 1000;
    function poll() {
      fetch(config.order_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; })
        .then(function (order) {
          if (order && order.status === "PAID") { location.assign(config.tickets_url); return; }
          if (order && order.status === "HELD") { fail(words("card_declined")); return; }
          if (order && order.status !== "PAYMENT_PENDING") { location.assign(config.cart_url); return; }
          delay = Math.min(delay * 1.5, 5000);
          setTimeout(poll, delay);
        });
    }
    setTimeout(poll, delay);
  }

  // The checkout, once its payment exists: a 202 "processing" means the PSP's
  // line is long and a worker creates the payment; ask again (idempotent).
  function checkedOut(body, tries) {
    return post(config.checkout_url, body).then(function (started) {
      if (started.ok && started.data.processing && tries < 60) {
        return new Promise(function (resolve) { setTimeout(resolve, 2000); })
          .then(function () { return checkedOut(body, tries + 1); });
      }
      return started;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return;
    if (!form.reportValidity()) return;
    errorBox.hidden = true;
    setBusy(true);
    say(config.texts.processing);
    checkedOut({ email: email.value.trim() }, 0)
      .then(function (started) {
        if (!started.ok) { fail(words(started.data.error)); return; }
        if (countdown && started.data.expires_at) countdown.dataset.countdown = started.data.expires_at;
        return paymentMethod().then(function (method) {
          if (method.error || !method.id) { fail(config.texts.card_invalid); return; }
          return post(config.pay_url, { payment_method: method.id }).then(answered);
        });
      })
      .catch(function () { fail(config.texts.network); });
  });
})();
