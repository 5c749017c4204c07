"""A plain HTML page (no scripts) at /fake/ where a demo visitor can "scan" a contact way."""

from __future__ import annotations

from html import escape

from fake_wecom.corp import FakeCorp


def page_html(corp: FakeCorp, message: str = "") -> str:
    """Contact ways with a scan form each, and the latest callbacks."""
    with corp.lock:
        ways = list(corp.contact_ways.values())
        sent = corp.callbacks_sent[-10:]
        welcomes = corp.welcomes_sent[-10:]
    rows = "".join(
        f"<tr><td>{escape(w.state or '—')}</td><td>{escape(w.remark)}</td><td>{escape(', '.join(w.user))}</td>"
        f"<td>{w.scans}</td><td><form method='post' action='/fake/ui/scan'>"
        f"<input type='hidden' name='config_id' value='{escape(w.config_id)}'>"
        f"<input name='name' placeholder='客户昵称' maxlength='20'> <button>扫码添加</button></form></td></tr>"
        for w in ways
    )
    events = "".join(
        f"<li>{escape(str(c.event.get('ChangeType', '')))} {escape(str(c.event.get('ExternalUserID', '')))} → "
        f"{c.status_code if c.status_code is not None else escape(c.error)}</li>"
        for c in reversed(sent)
    )
    greeted = "".join(
        f"<li>{escape(w['external_userid'])}: {escape(w['text'][:60])}</li>" for w in reversed(welcomes)
    )
    note = f"<p><strong>{escape(message)}</strong></p>" if message else ""
    callback = escape(corp.callback.url) if corp.callback else "（未配置回调）"
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>模拟企业微信</title></head><body>"
        f"<h1>模拟企业微信 · {escape(corp.corp_id)}</h1><p>回调地址：{callback}</p>{note}"
        "<h2>渠道活码（联系我）</h2><table border='1' cellpadding='4'><tr><th>state</th><th>备注</th>"
        f"<th>成员</th><th>扫码次数</th><th></th></tr>{rows}</table>"
        f"<h2>最近回调</h2><ul>{events}</ul><h2>最近欢迎语</h2><ul>{greeted}</ul></body></html>"
    )
