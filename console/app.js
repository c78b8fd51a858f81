'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  let key = '',
    project = 'default',
    socket = null,
    timer = 0;
  const text = (node, value) => {
    node.textContent = value;
  };
  const error = (what) => {
    const line = new Date().toISOString().slice(11, 19) + ' ' + what + '\n';
    $('errors').textContent = (line + $('errors').textContent).slice(0, 4000);
  };
  /** A call to this API with the key; a refusal throws an Error whose message is the API's own reason. */
  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) {
      const reason = response.status + ' ' + (json.code || '') + ': ' + (json.message || json.error || response.statusText);
      error(method + ' ' + path.split('?')[0] + ': ' + reason);
      throw new Error(reason);
    }
    return json;
  }
  function rows(table, items) {
    table.replaceChildren(
      ...items.map((cells) => {
        const tr = document.createElement('tr');
        for (const cell of cells) {
          const td = document.createElement('td');
          if (cell instanceof Node) td.append(cell);
          else td.textContent = String(cell);
          tr.append(td);
        }
        return tr;
      }),
    );
  }
  const svg = (name, attributes, content) => {
    const node = document.createElementNS(SVG, name);
    for (const [attribute, value] of Object.entries(attributes)) node.setAttribute(attribute, String(value));
    if (content !== undefined) node.textContent = content;
    return node;
  };
  /** The top of the value axis: the smallest of 2, 4, 6, 8, 10 × 10ⁿ at or above `n`, so its half is a whole number too. */
  const axisTop = (n) => {
    const step = Math.pow(10, Math.floor(Math.log10(Math.max(1, n))));
    return [2, 4, 6, 8, 10].map((m) => m * step).find((top) => top >= n);
  };
  /**
   * Requests per day as bars on fixed axes: 30 slots whatever the data, a value axis from 0 with
   * its figures, dates under the bars, and each day's count on its bar where it fits — so one busy
   * day reads as well as thirty.
   */
  function chart(days) {
    const width = 900,
      height = 190,
      left = 44,
      right = 8,
      top = 24,
      bottom = 30;
    const plotWidth = width - left - right,
      plotHeight = height - top - bottom;
    const max = axisTop(Math.max(0, ...days.map((d) => d.count)));
    const slot = plotWidth / Math.max(1, days.length);
    const chartNode = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', role: 'img' });
    chartNode.append(svg('title', {}, 'Requests per day, last ' + days.length + ' days'));
    for (const tick of [0, max / 2, max]) {
      const y = top + plotHeight - (tick / max) * plotHeight;
      chartNode.append(svg('line', { x1: left, x2: width - right, y1: y, y2: y, stroke: tick === 0 ? '#56627a' : '#e3e6ec' }));
      chartNode.append(svg('text', { x: left - 4, y: y + 3, 'text-anchor': 'end', class: 'tick' }, String(tick)));
    }
    chartNode.append(svg('text', { x: 0, y: 9, class: 'axis' }, 'requests/day'));
    days.forEach((d, i) => {
      const x = left + i * slot;
      const barHeight = (d.count / max) * plotHeight;
      const bar = svg('rect', {
        x: x + slot * 0.15,
        y: top + plotHeight - barHeight,
        width: slot * 0.7,
        height: barHeight,
        fill: '#3b6fd8',
        class: 'bar',
        'data-date': d.date,
        'data-count': d.count,
      });
      bar.append(svg('title', {}, d.date + ': ' + d.count + ' requests, ' + (d.deliveries || 0) + ' deliveries'));
      chartNode.append(bar);
      // A day's figure on its bar, where it fits the bar's slot.
      if (d.count > 0 && String(d.count).length * 6 <= slot + 4) {
        const y = top + plotHeight - barHeight - 3;
        chartNode.append(svg('text', { x: x + slot / 2, y, 'text-anchor': 'middle', class: 'value' }, String(d.count)));
      }
      // Dates: the first, every seventh (unless it would crowd the last), and the last.
      if (i === 0 || i === days.length - 1 || (i % 7 === 0 && days.length - 1 - i >= 4)) {
        const label = svg('text', { x: x + slot / 2, y: height - bottom + 14, 'text-anchor': 'middle', class: 'date' }, d.date.slice(5));
        chartNode.append(label);
      }
    });
    $('usage').replaceChildren(chartNode);
    const requests = days.reduce((sum, d) => sum + d.count, 0);
    const deliveries = days.reduce((sum, d) => sum + (d.deliveries || 0), 0);
    const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : 's');
    text(
      $('usage-total'),
      plural(requests, 'request') + ' and ' + plural(deliveries, 'delivery').replace(/ys$/, 'ies') + ' in ' + days.length + ' days',
    );
  }
  async function refresh() {
    try {
      const status = (await api('GET', '/status?projectId=' + encodeURIComponent(project))).data;
      text($('total'), String(status.connections.total));
      rows(
        $('types'),
        // Connections that gave no ?type= are counted under "none" by the API.
        Object.entries(status.connections.byType).map(([type, n]) => [type === 'none' ? '(no type)' : type, n]),
      );
      rows(
        $('channels'),
        status.channels.map((c) => {
          const b = document.createElement('button');
          b.textContent = 'watch';
          b.onclick = () => watch(c.channel);
          return [c.channel, c.subscribers, b];
        }),
      );
      const presence = status.channels.filter((c) => c.channel.startsWith('presence-'));
      const lists = await Promise.all(
        presence.map((c) =>
          api('GET', '/channels/' + encodeURIComponent(c.channel) + '/users?projectId=' + encodeURIComponent(project)).then(
            (r) => c.channel + ': ' + r.data.members.map((m) => m.userId).join(', ') + ' (' + r.data.count + ')',
            () => c.channel + ': ?',
          ),
        ),
      );
      text($('presence'), lists.join('\n') || 'No presence channels in use.');
      // Each webhook and its last failed attempts (newest first): what a receiver answered, or why none came.
      const hooks = (await api('GET', '/projects/' + encodeURIComponent(project) + '/webhooks')).data;
      rows(
        $('webhooks'),
        hooks.webhooks.map((h) => [h.url, h.events.join(', ')]),
      );
      text(
        $('webhook-failures'),
        hooks.failures
          .map((f) => f.at + ' ' + f.url + ': ' + (f.status ? 'answered ' + f.status : f.error) + ' (' + f.events + ' events)')
          .join('\n') || 'No failed webhook attempts.',
      );
      chart((await api('GET', '/usage?projectId=' + encodeURIComponent(project))).data.dailyRequests || []);
    } catch {
      /* shown in the errors */
    }
  }
  /** The live view's row for a message: newest first, its data previewed on one line and shown whole when opened. */
  function liveRow(raw) {
    let message = null;
    try {
      message = JSON.parse(raw);
    } catch {
      /* a text frame, such as pong */
    }
    const object = message !== null && typeof message === 'object' ? message : null;
    const kind = object ? object.kind || (object.type ? 'reply' : 'message') : 'text';
    const data = !object ? raw : kind === 'message' ? object.data : kind === 'routed' ? object.payload : object;
    const time = object && object.timestamp ? object.timestamp : new Date().toISOString();
    const preview = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = data === undefined ? '' : typeof data === 'string' ? data : JSON.stringify(data);
    const whole = document.createElement('pre');
    whole.textContent = object ? JSON.stringify(object, null, 2) : raw;
    preview.append(summary, whole);
    const tag = document.createElement('span');
    tag.className = 'kind-' + kind;
    tag.textContent = kind;
    const cells = [time.slice(11, 19), (object && object.channel) || '', (object && (object.event || object.type)) || '', preview, tag];
    const tr = document.createElement('tr');
    cells.forEach((cell, i) => {
      const td = document.createElement('td');
      td.className = ['time', 'channel', 'event', 'data', 'kind'][i];
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell;
      tr.append(td);
    });
    $('live').tBodies[0].prepend(tr);
    if (object && object.type === 'error') error('live: ' + object.code + ' ' + object.message);
  }
  async function watch(channel) {
    $('watched').value = channel;
    if (socket) socket.close();
    try {
      const grant = (await api('POST', '/console/token', { projectId: project })).data;
      const url = grant.token ? grant.webSocketUrl : grant.webSocketUrl + '?projectId=' + encodeURIComponent(project);
      socket = new WebSocket(url, grant.token ? ['rb.v1', 'rb.token.' + grant.token] : ['rb.v1']);
      text($('live-state'), 'connecting…');
      socket.onopen = () => {
        socket.send(JSON.stringify({ action: 'subscribe', channel }));
        text($('live-state'), 'watching ' + channel);
      };
      socket.onmessage = (m) => {
        if (m.data !== 'pong') liveRow(m.data);
      };
      socket.onclose = () => text($('live-state'), 'closed');
    } catch {
      /* shown in the errors */
    }
  }
  // The key is tried before the form goes: a refused one leaves the form up, with the reason under it.
  $('signin').onsubmit = async (e) => {
    e.preventDefault();
    key = $('key').value;
    project = $('project').value.trim();
    $('signin-error').hidden = true;
    try {
      await api('GET', '/status?projectId=' + encodeURIComponent(project));
    } catch (refused) {
      key = '';
      text($('signin-error'), 'Not signed in: ' + refused.message);
      $('signin-error').hidden = false;
      return;
    }
    $('key').value = '';
    $('signin').hidden = true;
    $('app').hidden = false;
    text($('who'), 'project ' + project);
    await refresh();
    clearInterval(timer);
    timer = setInterval(refresh, 2000);
  };
  $('watch').onsubmit = (e) => {
    e.preventDefault();
    void watch($('watched').value.trim());
  };
  $('publish').onsubmit = async (e) => {
    e.preventDefault();
    let data;
    try {
      data = JSON.parse($('pdata').value || 'null');
    } catch {
      error('publish: data is not JSON');
      return;
    }
    try {
      const r = await api('POST', '/broadcast', {
        projectId: project,
        channel: $('pchannel').value.trim(),
        event: $('pevent').value.trim(),
        data,
      });
      text($('published'), 'sent to ' + (r.sent ?? r.queued) + (r.offset ? ', offset ' + r.offset : ''));
    } catch {
      /* shown */
    }
  };
})();
