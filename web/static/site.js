// Concorde's progressive enhancement: every form works without this script; with it, the
// vote flow, the profile questions and the moderation console run without page reloads.
(function () {
  'use strict';

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : '';
  }

  function api(method, url, body) {
    // The API answers in the language asked for: the page's, so that its messages match it.
    var opts = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json', 'Accept-Language': document.documentElement.lang || 'en', 'X-CSRF-Token': csrf() } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = new Error((j.error && j.error.message) || r.status);
          e.status = r.status;
          throw e;
        }
        return j;
      });
    });
  }

  function postForm(url, params) {
    params.set('_csrf', csrf());
    return fetch(url, {
      method: 'POST', credentials: 'same-origin', body: params.toString(),
      headers: { 'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' }
    }).then(function (r) {
      if (r.ok) { return r; }
      // The site's own message, in the page's language (the status text is English).
      return r.json().catch(function () { return {}; }).then(function (j) {
        throw new Error((j.error && j.error.message) || r.status);
      });
    });
  }

  // --- The two steps of a vote, shared by the cards and the search results: a vote button
  // records the vote, its qualifications appear, and "next" saves those ticked. ---
  // o.target() is the proposal voted on ({id, key}); o.voted(v) runs once the vote is
  // recorded; o.done() once the qualifications are saved.
  function twoSteps(form, o) {
    var buttons = form.querySelector('.vote-buttons');
    var next = form.querySelector('.next');
    var groups = Array.prototype.slice.call(form.querySelectorAll('fieldset.quals'));
    var feedback = form.querySelector('.vote-feedback');
    var s = { state: 'vote', chosen: '' };
    s.busy = function (on) {
      Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = on; });
    };
    s.fail = function (err) {
      s.busy(false);
      feedback.textContent = err.message;
    };
    s.reset = function () {
      s.state = 'vote'; s.chosen = '';
      buttons.hidden = false; next.hidden = true;
      groups.forEach(function (g) {
        g.hidden = true;
        Array.prototype.forEach.call(g.querySelectorAll('input'), function (i) { i.checked = false; });
      });
    };
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var sub = ev.submitter, t = o.target();
      if (s.state === 'vote') {
        if (!sub || sub.name !== 'vote') { return; }
        var v = sub.value;
        s.busy(true);
        api('POST', '/api/v1/proposals/' + t.id + '/vote', { vote: v, key: t.key }).then(function () {
          s.busy(false);
          s.state = 'qualify'; s.chosen = v;
          o.voted(v);
          buttons.hidden = true;
          groups.forEach(function (g) { g.hidden = g.getAttribute('data-key') !== v; });
          next.hidden = false;
          feedback.textContent = form.getAttribute('data-recorded') || '';
          var first = form.querySelector('fieldset.quals[data-key="' + v + '"] input');
          (first || next.querySelector('button')).focus();
        }, s.fail);
        return;
      }
      var quals = [];
      Array.prototype.forEach.call(form.querySelectorAll('fieldset.quals[data-key="' + s.chosen + '"] input:checked'), function (i) { quals.push(i.value); });
      s.busy(true);
      var p = quals.length ? api('POST', '/api/v1/proposals/' + t.id + '/vote', { vote: s.chosen, key: t.key, qualifications: quals }) : Promise.resolve();
      p.then(o.done, s.fail);
    });
    return s;
  }

  // --- The vote flow: one card at a time. ---
  function voteFlow(form) {
    if (!form.elements.step || form.elements.step.value !== 'vote') { return; } // the no-JS qualify step posts as is
    var section = form.closest('.vote-section') || document;
    var slug = form.getAttribute('data-slug');
    var ret = form.elements['return'].value;
    var sequence = ret.indexOf('/c/') === 0;
    var feedback = form.querySelector('.vote-feedback');
    var content = form.querySelector('#card-content');
    var cardText = form.querySelector('#card-text');
    var done = document.getElementById('vote-done');
    var slot = document.getElementById('profile-slot');
    var votes = parseInt(section.getAttribute('data-votes') || '0', 10);
    var after = parseInt(section.getAttribute('data-profile-after') || '0', 10);
    var current = { id: parseInt(form.elements.proposal.value, 10), key: form.elements.key.value };
    var seen = {}; seen[current.id] = true;
    var queue = [];
    // Where the visitor is in the sequence ("3 / 12"); past its size, the end-of-sequence call
    // to action comes instead of another card.
    var position = parseInt(section.getAttribute('data-position') || '1', 10);
    var total = parseInt(section.getAttribute('data-total') || '1', 10);
    var size = parseInt(section.getAttribute('data-size') || '0', 10);
    var progress = document.getElementById('seq-progress');
    var seqEnd = document.getElementById('sequence-end');
    function showProgress() {
      if (!progress) { return; }
      var fill = function (tpl) { return (tpl || '').replace('%d', position).replace('%d', total); };
      progress.querySelector('#seq-progress-text').textContent = fill(progress.getAttribute('data-text'));
      var bar = progress.querySelector('progress');
      bar.max = total; bar.value = position;
      bar.textContent = fill(progress.getAttribute('data-text'));
      bar.setAttribute('aria-label', fill(progress.getAttribute('data-label')));
    }
    var steps = twoSteps(form, {
      target: function () { return current; },
      voted: function () { votes++; },
      done: advance
    });

    function take() {
      while (queue.length) {
        var c = queue.shift();
        if (!seen[c.id]) { return c; }
      }
      return null;
    }
    function nextCard() {
      var c = take();
      if (c || !sequence) { return Promise.resolve(c); }
      return api('GET', '/api/v1/consultations/' + encodeURIComponent(slug) + '/sequence').then(function (r) {
        queue = r.proposals || [];
        var fresh = queue.filter(function (c) { return !seen[c.id]; }).length;
        if (size) { total = Math.max(position, Math.min(size, position - 1 + fresh)); }
        return take();
      });
    }
    function show(c) {
      steps.busy(false);
      steps.reset();
      if (!c) {
        form.hidden = true;
        if (progress) { progress.hidden = true; }
        if (done) { done.hidden = false; done.setAttribute('tabindex', '-1'); done.focus(); }
        return;
      }
      current = { id: c.id, key: c.key };
      seen[c.id] = true;
      showProgress();
      content.textContent = c.content;
      form.elements.proposal.value = c.id;
      form.elements.key.value = c.key;
      feedback.textContent = '';
      cardText.focus();
    }
    // "Another series" starts a new sequence in place (without JavaScript, the link reloads).
    var again = seqEnd && seqEnd.querySelector('#sequence-again');
    if (again) {
      again.addEventListener('click', function (ev) {
        ev.preventDefault();
        position = 1; total = size;
        seqEnd.hidden = true;
        form.hidden = false;
        if (progress) { progress.hidden = false; }
        nextCard().then(show, steps.fail);
      });
    }
    function advance() {
      if (!sequence) {
        steps.busy(false); steps.reset();
        feedback.textContent = form.getAttribute('data-thanks') || '';
        cardText.focus();
        return;
      }
      position++;
      if (size && position > size && seqEnd) {
        steps.busy(false);
        form.hidden = true;
        if (progress) { progress.hidden = true; }
        seqEnd.hidden = false; seqEnd.setAttribute('tabindex', '-1'); seqEnd.focus();
        return;
      }
      if (slot && after && votes >= after) {
        var s = slot; slot = null;
        profile(s, function () { nextCard().then(show, steps.fail); });
        return;
      }
      nextCard().then(show, steps.fail);
    }
  }

  // --- A vote on a search result: the same steps as the card, in place, on every result. ---
  function resultVote(form) {
    if (form.elements.step.value !== 'vote') { return; } // the no-JS qualify step posts as is
    var target = { id: form.elements.proposal.value, key: form.elements.key.value };
    var buttons = form.querySelector('.vote-buttons');
    var feedback = form.querySelector('.vote-feedback');
    var mine = form.querySelector('.my-vote');
    function button(v) { return buttons.querySelector('button[value="' + v + '"]'); }
    var steps = twoSteps(form, {
      target: function () { return target; },
      voted: function (v) {
        Array.prototype.forEach.call(buttons.querySelectorAll('button'), function (b) { b.classList.toggle('chosen', b.value === v); });
        mine.textContent = (form.getAttribute('data-mine') || '%s').replace('%s', button(v).textContent);
      },
      done: function () {
        var chosen = steps.chosen;
        steps.busy(false);
        steps.reset();
        feedback.textContent = form.getAttribute('data-thanks') || '';
        button(chosen).focus();
      }
    });
  }

  // The optional profile questions, slipped in between two cards.
  function profile(slotEl, then) {
    var card = document.getElementById('card');
    var pf = slotEl.querySelector('form');
    card.hidden = true;
    slotEl.hidden = false;
    var title = slotEl.querySelector('#profile-title');
    if (title) { title.focus(); }
    pf.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var params = new URLSearchParams();
      Array.prototype.forEach.call(pf.querySelectorAll('select, input[name]'), function (el) {
        if (el.name && el.name !== '_csrf') { params.set(el.name, el.value); }
      });
      params.set('action', ev.submitter && ev.submitter.value === 'skip' ? 'skip' : 'save');
      postForm(pf.getAttribute('action'), params).then(function () {
        slotEl.hidden = true;
        card.hidden = false;
        then();
      }, function (err) {
        var p = pf.querySelector('.muted');
        if (p) { p.textContent = err.message; }
      });
    });
  }

  // --- The propose form: live count and similar proposals. ---
  function proposeForm(form) {
    var input = form.querySelector('#content');
    var count = form.querySelector('#propose-count');
    var similar = form.querySelector('#similar');
    var list = form.querySelector('#similar-list');
    var prefix = form.querySelector('#prefix').textContent;
    var min = parseInt(form.getAttribute('data-min'), 10), max = parseInt(form.getAttribute('data-max'), 10);
    var tpl = count.getAttribute('data-template') || '{n}';
    var slug = form.getAttribute('data-slug');
    var timer = null, last = '';
    function update() {
      var n = Array.from(input.value.trim()).length;
      count.textContent = tpl.replace('{n}', n).replace('{min}', min).replace('{max}', max);
      count.classList.toggle('bad', n > 0 && (n < min || n > max));
      clearTimeout(timer);
      timer = setTimeout(lookup, 250);
    }
    function lookup() {
      var q = input.value.trim();
      if (q === last) { return; }
      last = q;
      if (Array.from(q).length < 3) { similar.hidden = true; return; }
      api('GET', '/api/v1/consultations/' + encodeURIComponent(slug) + '/similar?q=' + encodeURIComponent(q)).then(function (r) {
        list.textContent = '';
        var ps = r.proposals || [];
        ps.forEach(function (p) {
          var li = document.createElement('li');
          var a = document.createElement('a');
          a.href = '/proposals/' + p.id;
          a.textContent = prefix + ' ' + p.content;
          li.appendChild(a);
          list.appendChild(li);
        });
        if (!ps.length) {
          var none = document.getElementById('similar-empty');
          if (none) { list.appendChild(none.content.cloneNode(true)); }
        }
        similar.hidden = false;
      }, function () { similar.hidden = true; });
    }
    input.addEventListener('input', update);
    if (input.value) { update(); }
  }

  // --- The share control: without this script, the link sits in a read-only field to copy
  // by hand; with it, a copy button, and the system's share sheet where the browser has one. ---
  function shareControl(section) {
    var input = section.querySelector('#share-link');
    var copy = section.querySelector('#share-copy');
    var native = section.querySelector('#share-native');
    var status = section.querySelector('#share-status');
    input.addEventListener('focus', function () { input.select(); });
    if (navigator.clipboard && window.isSecureContext) {
      copy.hidden = false;
      copy.addEventListener('click', function () {
        navigator.clipboard.writeText(input.value).then(function () {
          status.textContent = copy.getAttribute('data-copied') || '';
        }, function () {
          input.focus();
          status.textContent = copy.getAttribute('data-failed') || '';
        });
      });
    }
    if (navigator.share) {
      native.hidden = false;
      native.addEventListener('click', function () {
        navigator.share({ title: native.getAttribute('data-title') || document.title, url: input.value }).catch(function () {});
      });
    }
  }

  // --- Admin: Markdown preview, branding preview, moderation shortcuts. ---
  function markdownPreview(form) {
    var btn = form.querySelector('#preview-button');
    var out = document.getElementById('preview');
    if (!btn || !out) { return; }
    btn.addEventListener('click', function (ev) {
      ev.preventDefault();
      var params = new URLSearchParams();
      params.set('context', form.elements.context.value);
      postForm('/admin/preview', params).then(function (r) { return r.text(); }).then(function (html) {
        out.innerHTML = html; // rendered and sanitised by the server
      });
    });
  }

  function luminance(hex) {
    var m = /^#?([0-9a-f]{6})$/i.exec(hex);
    if (!m) { return null; }
    var n = parseInt(m[1], 16);
    return [n >> 16, (n >> 8) & 255, n & 255].map(function (c) {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }).reduce(function (acc, c, i) { return acc + c * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }

  function brandingPreview(form) {
    var primary = form.querySelector('#b-primary'), accent = form.querySelector('#b-accent');
    var out = document.getElementById('contrast');
    function apply() {
      var root = document.documentElement;
      root.style.setProperty('--primary', primary.value);
      root.style.setProperty('--accent', accent.value);
      var l = luminance(primary.value);
      if (l === null || !out) { return; }
      var ratio = (1.05 / (l + 0.05));
      var ok = ratio >= 4.5;
      out.textContent = (out.getAttribute(ok ? 'data-ok' : 'data-bad') || '').replace('{ratio}', ratio.toFixed(2).replace('.', out.getAttribute('data-decimal') || '.'));
      out.className = ok ? 'notice' : 'error-msg';
    }
    primary.addEventListener('input', apply);
    accent.addEventListener('input', apply);
    apply();
  }

  function moderationKeys() {
    var keys = { a: 'accept-button', p: 'postpone-button', n: 'next-button' };
    document.addEventListener('keydown', function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) { return; }
      var t = ev.target;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) { return; }
      var k = ev.key.toLowerCase();
      if (k === 'r') {
        var r = document.getElementById('reason');
        if (r) { ev.preventDefault(); r.focus(); }
        return;
      }
      var b = keys[k] && document.getElementById(keys[k]);
      if (b) { ev.preventDefault(); b.click(); }
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var card = document.getElementById('card');
    if (card) { voteFlow(card); }
    Array.prototype.forEach.call(document.querySelectorAll('form.result-vote'), resultVote);
    var share = document.getElementById('share');
    if (share && document.getElementById('share-link')) { shareControl(share); }
    var pf = document.getElementById('propose-form');
    if (pf) { proposeForm(pf); }
    var cf = document.getElementById('consultation-form');
    if (cf) { markdownPreview(cf); }
    var bf = document.getElementById('branding-form');
    if (bf) { brandingPreview(bf); }
    if (document.getElementById('next-form')) { moderationKeys(); }
  });
}());
