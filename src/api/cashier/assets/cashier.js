// The cashier page's script (plain browser JavaScript, served from /cashier/assets/): the
// countdown, the hand-off to the channel (same window, a QR code, or WeChat's pay sheet), the
// "did you complete the payment?" dialog, and the status checks on load, back/forward and focus
// that keep a paid, expired or closed order from ever offering a pay button.
(function () {
  'use strict';

  var dataElement = document.getElementById('cashier-data');
  if (!dataElement) return;
  var data = JSON.parse(dataElement.textContent);
  var text = data.text;
  var byId = function (id) {
    return document.getElementById(id);
  };
  var statusLine = byId('status');
  var choices = byId('choices');
  var qrPanel = byId('qr-panel');
  var qr = byId('qr');
  var qrCaption = byId('qr-caption');
  var problem = byId('problem');
  var dialog = byId('paid-check');
  var progress = byId('paid-check-progress');
  var notFound = byId('not-found');
  var countdown = byId('countdown');
  var backToMerchant = byId('back-to-merchant');
  var backToChoices = byId('back-to-choices');
  // Set when the payer was sent to a channel from this page: coming back asks whether they paid.
  var handedOffKey = 'paycenter-handed-off:' + data.id;
  var state = data.state;
  var busy = false;
  var pollTimer = null;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? String(values[name]) : whole;
    });
  }

  function say(message) {
    statusLine.textContent = message;
  }

  function showProblem(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method,
      cache: 'no-store',
      credentials: 'same-origin',
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (answer) {
      return answer
        .json()
        .catch(function () {
          return {};
        })
        .then(function (json) {
          return {
            ok: answer.ok,
            status: answer.status,
            body: json,
            retryAfter: answer.headers.get('retry-after'),
          };
        });
    });
  }

  /** While a pay or a sync is in flight, nothing else can be pressed: one click, one request. */
  function setBusy(value) {
    busy = value;
    document.querySelectorAll('button').forEach(function (button) {
      button.disabled = value;
    });
    document.querySelector('main').setAttribute('aria-busy', value ? 'true' : 'false');
  }

  function closeDialog() {
    if (dialog.open) dialog.close();
    notFound.hidden = true;
    progress.textContent = '';
  }

  function openDialog(modal) {
    notFound.hidden = true;
    progress.textContent = '';
    if (dialog.open) return;
    if (modal) dialog.showModal();
    else dialog.show();
  }

  function hideQr() {
    qrPanel.hidden = true;
    qr.textContent = '';
  }

  function handedOff() {
    try {
      return sessionStorage.getItem(handedOffKey);
    } catch {
      return null;
    }
  }

  function rememberHandOff(value) {
    try {
      if (value) sessionStorage.setItem(handedOffKey, value);
      else sessionStorage.removeItem(handedOffKey);
    } catch {
      // Private modes without storage: the dialog just does not come back by itself.
    }
  }

  /** Shows the order as the server answered it; an order that is not payable offers nothing. */
  function show(view) {
    state = view.state;
    statusLine.setAttribute('data-state', state);
    if (state === 'payable') {
      if (data.mode === 'result') {
        say(text.stillProcessing);
        backToChoices.hidden = false;
      } else if (qrPanel.hidden && !dialog.open) {
        say(text.waitingForPayment);
        choices.hidden = false;
      }
      return;
    }
    say(text[state]);
    choices.hidden = true;
    countdown.hidden = true;
    backToChoices.hidden = true;
    hideQr();
    closeDialog();
    rememberHandOff(null);
    stopPolling();
    if (state === 'paid') backToMerchant.hidden = !data.hasReturnUrl;
  }

  function checkNow() {
    return request('GET', data.urls.view)
      .then(function (answer) {
        if (answer.ok) show(answer.body);
      })
      .catch(function () {
        // Offline for a moment: the next check tells.
      });
  }

  function startPolling() {
    if (pollTimer === null) pollTimer = setInterval(checkNow, 2000);
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function tick() {
    if (state !== 'payable') return;
    var left = Math.max(0, Math.floor((Date.parse(data.expiresAt) - Date.now()) / 1000));
    countdown.querySelector('time').textContent = fill(text.minutesSeconds, {
      minutes: Math.floor(left / 60),
      seconds: left % 60,
    });
    // Expired here first: no button while the server closes the order, then its word.
    if (left === 0) show({ state: 'expired' });
  }

  function refused(answer) {
    var code = answer.body && answer.body.code;
    if (code === 'ALREADY_PAID' || code === 'ORDER_CLOSED') return checkNow();
    if (answer.status === 429) {
      showProblem(fill(text.tooManyTries, { seconds: answer.retryAfter || 60 }));
    } else {
      var reason =
        (answer.body && (answer.body.detail || answer.body.title)) || String(answer.status);
      showProblem(fill(text.cannotStart, { reason: reason }));
    }
    say(text.waitingForPayment);
  }

  function handOff(choice, answer) {
    var channelName = data.channelNames[choice.channel] || choice.channel;
    if (answer.handOff === 'redirect' && answer.payUrl) {
      rememberHandOff(choice.channel + ':' + choice.method);
      // This window goes to the channel; a second window would leave a second "Pay" behind.
      window.location.assign(answer.payUrl);
      return;
    }
    setBusy(false);
    if (answer.handOff === 'qr' && answer.qrSvg) {
      choices.hidden = true;
      // The SVG is drawn by paycenter's own server from the channel's pay URL.
      qr.innerHTML = answer.qrSvg;
      qr.firstElementChild.setAttribute('role', 'img');
      qr.firstElementChild.setAttribute(
        'aria-label',
        fill(text.scanWith, { channel: channelName }),
      );
      qrCaption.textContent = fill(text.scanWith, { channel: channelName });
      qrPanel.hidden = false;
      say(text.waitingForPayment);
      openDialog(false);
      startPolling();
      return;
    }
    if (answer.handOff === 'paySheet' && answer.payParams && window.WeixinJSBridge) {
      say(fill(text.paySheetOpened, { channel: channelName }));
      window.WeixinJSBridge.invoke('getBrandWCPayRequest', answer.payParams, function (result) {
        // "ok" only means the payer finished in WeChat: the order's state is what counts.
        if (result && result.err_msg === 'get_brand_wcpay_request:ok') iHavePaid();
        else checkNow();
      });
      return;
    }
    checkNow();
  }

  function pay(choice) {
    if (busy || state !== 'payable') return;
    setBusy(true);
    showProblem('');
    say(text.opening);
    request('POST', data.urls.pay, { channel: choice.channel, method: choice.method })
      .then(function (answer) {
        if (answer.ok) return handOff(choice, answer.body);
        setBusy(false);
        return refused(answer);
      })
      .catch(function () {
        setBusy(false);
        showProblem(text.networkError);
      });
  }

  function iHavePaid() {
    if (busy) return;
    setBusy(true);
    notFound.hidden = true;
    progress.textContent = text.checking;
    request('POST', data.urls.sync)
      .then(function (answer) {
        setBusy(false);
        progress.textContent = '';
        if (!answer.ok) return refused(answer);
        show(answer.body);
        if (state === 'payable') {
          openDialog(false);
          notFound.hidden = false;
          byId('keep-waiting').focus();
        }
      })
      .catch(function () {
        setBusy(false);
        progress.textContent = text.networkError;
      });
  }

  /** Back to the choices; a new choice closes the channel order this one opened. */
  function chooseAgain() {
    closeDialog();
    hideQr();
    rememberHandOff(null);
    if (data.mode === 'result') {
      window.location.assign(backToChoices.href);
      return;
    }
    choices.hidden = state !== 'payable';
    say(text.waitingForPayment);
    var first = choices.querySelector('button');
    if (first) first.focus();
  }

  document.querySelectorAll('form.pay-choice-form').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var button = form.querySelector('button');
      pay({
        channel: button.getAttribute('data-channel'),
        method: button.getAttribute('data-method'),
      });
    });
  });
  byId('i-have-paid').addEventListener('click', iHavePaid);
  byId('had-problem').addEventListener('click', chooseAgain);
  byId('pay-another-way').addEventListener('click', chooseAgain);
  byId('keep-waiting').addEventListener('click', function () {
    notFound.hidden = true;
    startPolling();
  });
  byId('contact-merchant').addEventListener('click', function () {
    byId('contact-help').hidden = false;
    backToMerchant.hidden = !data.hasReturnUrl;
  });

  /** The payer is back (loaded, back/forward, focus): the order's state first, then the dialog. */
  function payerIsBack() {
    setBusy(false);
    return checkNow().then(function () {
      if (state !== 'payable') return;
      if (data.mode === 'result') {
        startPolling();
      } else if (handedOff()) {
        choices.hidden = true;
        openDialog(true);
        startPolling();
      }
    });
  }

  window.addEventListener('pageshow', function (event) {
    if (event.persisted) payerIsBack();
  });
  window.addEventListener('focus', function () {
    if (!busy) checkNow();
  });
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && !busy) checkNow();
  });

  tick();
  setInterval(tick, 1000);
  if (data.mode === 'result' && state === 'payable') {
    // Back from the channel, whose notification may not have come yet: ask it now.
    iHavePaid();
    startPolling();
  } else {
    payerIsBack();
  }
})();
