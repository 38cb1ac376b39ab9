// Tributary's one page script: live updates over /events, like and comment without a
// reload, and the j/k/l/c keys. Optional: every form works without it. No inline script,
// no eval (the CSP allows 'self' scripts and connections only).
(function () {
  "use strict";

  var main = document.querySelector("main[data-events]");
  var scope = main ? main.getAttribute("data-events") : null;
  // The page's action form (logged-in viewers only) holds the CSRF token.
  var csrfField = document.querySelector('form#act input[name="csrf"]');
  var csrf = csrfField ? csrfField.value : null;
  var nNewItems = 0;

  // A card's item id, from its element id `item-{id}`.
  function idOf(card) { return card.id.replace(/^item-/, ""); }

  function cardOf(itemId) {
    return document.getElementById("item-" + itemId);
  }

  // A card's likes or comments count; a card with none yet has no count, so the first
  // one adds it ("Likes 1") to the card's action row.
  function setCount(card, selector, n) {
    if (!card) { return; }
    var span = card.querySelector(selector);
    if (!span) {
      var row = card.querySelector("div.item-actions");
      if (!row) { return; }
      var tally = document.createElement("span");
      tally.className = "tally";
      span = document.createElement("span");
      span.className = selector.replace("span.", "");
      tally.textContent = selector === "span.n-likes" ? "Likes " : "Comments ";
      tally.appendChild(span);
      row.appendChild(tally);
    }
    span.textContent = String(n);
  }

  function post(form) {
    return fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form))
    });
  }

  // The comment as the item page shows it, added once to the card's list.
  function addComment(card, itemId, commentId) {
    if (!card || document.getElementById("c-" + commentId)) { return; }
    fetch("/e/" + itemId + "/comments/" + commentId + "/fragment", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html || document.getElementById("c-" + commentId)) { return; }
        var list = card.querySelector("ul.comments");
        if (!list) {
          list = document.createElement("ul");
          list.className = "comments";
          var form = card.querySelector("form.comment-form");
          card.insertBefore(list, form);
        }
        var holder = document.createElement("ul");
        holder.innerHTML = html;
        while (holder.firstElementChild) { list.appendChild(holder.firstElementChild); }
      });
  }

  function showNewItems(n) {
    nNewItems += n;
    var banner = document.getElementById("new-items");
    if (!banner) {
      banner = document.createElement("button");
      banner.id = "new-items";
      banner.type = "button";
      banner.className = "new-items";
      banner.addEventListener("click", function () {
        // The first page of this stream, from the top.
        var params = new URLSearchParams(location.search);
        ["before", "after", "page", "cursor"].forEach(function (key) { params.delete(key); });
        var query = params.toString();
        window.scrollTo(0, 0);
        location.assign(location.pathname + (query ? "?" + query : ""));
      });
      main.insertBefore(banner, main.firstChild);
    }
    banner.textContent = nNewItems + (nNewItems === 1 ? " new item" : " new items");
    banner.setAttribute("role", "status");
  }

  var events = null;

  function listen() {
    if (!scope || !window.EventSource || events) { return; }
    events = new EventSource("/events?scope=" + encodeURIComponent(scope));
    // For styles and tests: the stream is open (it reconnects by itself when dropped).
    events.addEventListener("open", function () { main.setAttribute("data-live", "open"); });
    events.addEventListener("error", function () { main.removeAttribute("data-live"); });
    events.addEventListener("items", function (e) {
      showNewItems(JSON.parse(e.data).n_new);
    });
    events.addEventListener("comment", function (e) {
      var data = JSON.parse(e.data);
      var card = cardOf(data.item);
      setCount(card, "span.n-comments", data.n_comments);
      if (data.comment && scope.indexOf("item:") === 0) { addComment(card, data.item, data.comment); }
    });
    events.addEventListener("likes", function (e) {
      var data = JSON.parse(e.data);
      setCount(cardOf(data.item), "span.n-likes", data.n_likes);
    });
    events.addEventListener("poll", function () {
      // The source page waits for its poll: show the stored result.
      if (/[?&]done=polling/.test(location.search)) {
        location.replace(location.pathname + "?done=polled");
      }
    });
    events.addEventListener("lagged", function () { location.reload(); });
  }

  // A card's button of the page's action form, sent as the plain form would be.
  function submitPlain(button) {
    var form = button.form;
    form.action = button.formAction;
    form.submit();
  }

  // Like/Unlike: a button of the page's action form (form="act", its own formaction).
  function onLike(button) {
    button.disabled = true;
    fetch(button.formAction, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
      body: new URLSearchParams(new FormData(button.form))
    }).then(function (response) {
      if (!response.ok) { submitPlain(button); return null; }
      return response.json();
    }).then(function (data) {
      if (!data) { return; }
      var itemId = idOf(button.closest("article.item"));
      button.formAction = "/e/" + itemId + (data.liked ? "/unlike" : "/like");
      button.textContent = data.liked ? "Unlike" : "Like";
      setCount(cardOf(itemId), "span.n-likes", data.n_likes);
    }).catch(function () { submitPlain(button); }).then(function () {
      button.disabled = false;
    });
  }

  function showError(form, message) {
    var error = form.querySelector("p.error");
    if (!error) {
      error = document.createElement("p");
      error.className = "error";
      error.setAttribute("role", "alert");
      form.insertBefore(error, form.querySelector("button"));
    }
    error.textContent = message;
  }

  function onComment(form) {
    var card = form.closest("article.item");
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    post(form).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      if (!answer.ok) { showError(form, answer.data.error || "The comment was not saved."); return; }
      var textarea = form.querySelector("textarea");
      if (textarea) { textarea.value = ""; }
      var error = form.querySelector("p.error");
      if (error) { error.remove(); }
      var itemId = idOf(card);
      setCount(card, "span.n-comments", answer.data.n_comments);
      addComment(card, itemId, answer.data.comment);
    }).catch(function () { form.submit(); }).then(function () {
      if (button) { button.disabled = false; }
    });
  }

  // The stream's "Comment" link opens a form under the card, built here.
  function openCommentForm(card) {
    var existing = card.querySelector("form.comment-form");
    if (existing) { existing.querySelector("textarea").focus(); return; }
    if (!csrf) { return; }
    var itemId = idOf(card);
    var form = document.createElement("form");
    form.className = "comment-form";
    form.method = "post";
    form.action = "/e/" + itemId + "/comments";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf";
    token.value = csrf;
    var next = document.createElement("input");
    next.type = "hidden";
    next.name = "next";
    next.value = location.pathname + location.search + "#item-" + itemId;
    var label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = "comment-body-" + itemId;
    label.textContent = "Your comment";
    var textarea = document.createElement("textarea");
    textarea.id = "comment-body-" + itemId;
    textarea.name = "body";
    textarea.rows = 2;
    textarea.placeholder = "Write a comment";
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Comment";
    [token, next, label, textarea, button].forEach(function (el) { form.appendChild(el); });
    card.appendChild(form);
    textarea.focus();
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!window.fetch || !(form instanceof HTMLFormElement)) { return; }
    var button = e.submitter;
    if (button && button.classList.contains("like") && button.form === form && button.closest("article.item")) {
      e.preventDefault();
      onLike(button);
    } else if (form.classList.contains("comment-form") && /\/e\/\d+\/comments$/.test(form.action)) {
      e.preventDefault();
      onComment(form);
    }
  });

  // The exact time of a relative one ("3 hours ago"), in the viewer's own time zone.
  document.addEventListener("mouseover", function (e) {
    var time = e.target.closest ? e.target.closest("time[datetime]") : null;
    if (time && !time.title) { time.title = new Date(time.dateTime).toLocaleString(); }
  });

  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest(".item-actions a[href$='#comment']") : null;
    var card = link ? link.closest("article.item") : null;
    if (!card || !csrf) { return; }
    e.preventDefault();
    openCommentForm(card);
  });

  // j/k: next/previous card; l: like it; c: comment on it. Not while typing.
  function cards() { return Array.prototype.slice.call(document.querySelectorAll('article.item[id^="item-"]')); }
  function focusedCard() {
    var active = document.activeElement;
    return active && active.closest ? active.closest('article.item[id^="item-"]') : null;
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var target = e.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) { return; }
    var all = cards();
    if (all.length === 0) { return; }
    var current = focusedCard();
    var idx = current ? all.indexOf(current) : -1;
    if (e.key === "j" || e.key === "k") {
      var to = e.key === "j" ? Math.min(idx + 1, all.length - 1) : Math.max(idx - 1, 0);
      var card = all[to];
      card.tabIndex = -1;
      card.focus();
      card.scrollIntoView({ block: "start" });
      e.preventDefault();
    } else if (e.key === "l" && current) {
      var like = current.querySelector("button.like");
      if (like) { e.preventDefault(); onLike(like); }
    } else if (e.key === "c" && current) {
      e.preventDefault();
      openCommentForm(current);
    }
  });

  // A page left for another one closes its stream (a browser keeps at most six
  // connections to a server, and a page kept for "back" would hold one), and opens it
  // again when it is shown from that cache.
  window.addEventListener("pagehide", function () {
    if (events) { events.close(); events = null; }
    if (main) { main.removeAttribute("data-live"); }
  });
  window.addEventListener("pageshow", function (e) { if (e.persisted) { listen(); } });

  listen();
}());
