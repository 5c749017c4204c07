#!/bin/sh
# `SIYU_WECOM_FAKE=1 make demo`: start the fake WeCom server beside the demo and point Siyu at it, so a
# visitor sees live adds through channel codes (a simulated customer scans every 20 s), the sync and the
# callbacks. The fake is a test double on loopback only; the product never imports it.
set -eu
BIN=.venv/bin
FAKE_PORT=${SIYU_WECOM_FAKE_PORT:-8700}
SIYU_URL="http://${SIYU_HOST:-127.0.0.1}:${SIYU_PORT:-8000}"
# Demo-only callback credentials (the fake and Siyu must agree; neither is a real secret).
TOKEN=siyuDemoToken
AES_KEY=c2l5dURlbW9FbmNvZGluZ0FFU0tleTEyMzQ1Njc4OTA
USERIDS=.fake_wecom_userids.txt

# The fake's members are the demo's staff (their WeCom userids), so synced contacts land on real guides.
$BIN/python - "$USERIDS" <<'PY'
import sys

from sqlalchemy import select

from siyu.config import get_settings
from siyu.db.engine import make_engine, session_factory
from siyu.models import Staff
from siyu.models.enums import StaffStatus

with session_factory(make_engine(get_settings().database_url))() as s:
    ids = s.scalars(
        select(Staff.wecom_userid).where(Staff.wecom_userid.is_not(None), Staff.status == StaffStatus.active)
    ).all()
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    fh.write("\n".join(i for i in ids if i) + "\n")
PY

$BIN/python -m fake_wecom --port "$FAKE_PORT" --staff 20 --customers 2000 --groups 10 --auto-scan 20 \
    --userids-file "$USERIDS" --callback-url "$SIYU_URL/wecom/callback" \
    --callback-token "$TOKEN" --callback-aes-key "$AES_KEY" > .fake_wecom.log 2>&1 &
echo $! > .fake_wecom.pid
echo "fake WeCom: http://127.0.0.1:$FAKE_PORT/fake/ (pid $(cat .fake_wecom.pid), log .fake_wecom.log)"
sleep 2
SIYU_WECOM_SECRET=fake-secret SIYU_WECOM_AES_KEY=$AES_KEY $BIN/siyu wecom settings --corp-id wwfakecorp \
    --token "$TOKEN" --api-base-url "http://127.0.0.1:$FAKE_PORT/cgi-bin"
$BIN/siyu wecom test
$BIN/siyu wecom sync --full --quiet > /dev/null && echo "fake WeCom: full sync done (see /wecom/sync)"
