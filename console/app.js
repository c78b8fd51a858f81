'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
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
  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) {
      error(method + ' ' + path.split('?')[0] + ': ' + response.status + ' ' + (json.code || '') + ' ' + (json.error || ''));
      throw new Error(json.code || String(response.status));
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
  function chart(days) {
    const max = Math.max(1, ...days.map((d) => d.count)),
      w = 300,
      h = 80,
      bw = w / Math.max(1, days.length);
    const ns = 'http://www.w3.org/2000/svg',
      svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + (h + 14));
    svg.setAttribute('width', '100%');
    days.forEach((d, i) => {
      const r = document.createElementNS(ns, 'rect'),
        bh = (d.count / max) * h;
      r.setAttribute('x', String(i * bw + 1));
      r.setAttribute('y', String(h - bh));
      r.setAttribute('width', String(Math.max(1, bw - 2)));
      r.setAttribute('height', String(bh));
      r.setAttribute('fill', '#3b6fd8');
      const t = document.createElementNS(ns, 'title');
      t.textContent = d.date + ': ' + d.count + ' requests, ' + (d.deliveries || 0) + ' deliveries';
      r.append(t);
      svg.append(r);
    });
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', '0');
    label.setAttribute('y', String(h + 12));
    label.setAttribute('font-size', '10');
    label.textContent = 'max ' + max + ' requests/day';
    svg.append(label);
    $('usage').replaceChildren(svg);
  }
  async function refresh() {
    try {
      const status = (await api('GET', '/status?projectId=' + encodeURIComponent(project))).data;
      text($('total'), String(status.connections.total));
      rows(
        $('types'),
        Object.entries(status.connections.byType).map(([type, n]) => [type, n]),
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
      chart((await api('GET', '/usage?projectId=' + encodeURIComponent(project))).data.dailyRequests || []);
    } catch {
      /* shown in the errors */
    }
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
        if (m.data === 'pong') return;
        const line = m.data + '\n';
        $('live').textContent = (line + $('live').textContent).slice(0, 20000);
        const j = JSON.parse(m.data);
        if (j.type === 'error') error('live: ' + j.code + ' ' + j.message);
      };
      socket.onclose = () => text($('live-state'), 'closed');
    } catch {
      /* shown in the errors */
    }
  }
  $('signin').onsubmit = async (e) => {
    e.preventDefault();
    key = $('key').value;
    project = $('project').value.trim();
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
