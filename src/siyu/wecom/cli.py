"""`siyu wecom …`: the WeCom root Typer app; each sub-domain registers its commands onto it below."""

from __future__ import annotations

import typer

wecom_app = typer.Typer(
    help="WeCom (企业微信): settings, channel codes, sync, mass sends, moments and handovers.",
    no_args_is_help=True,
)


# Sub-domain command modules register onto wecom_app on import (one line each, keep these at the bottom).
from siyu.wecom.settings_cli import register as register_settings  # noqa: E402

register_settings(wecom_app)  # settings, test
from siyu.wecom.channel_code_cli import register as register_codes  # noqa: E402

register_codes(wecom_app)  # codes list|create|deactivate
from siyu.wecom.sync_cli import register as register_sync  # noqa: E402

register_sync(wecom_app)  # sync [--full|--behaviour] [--resume], push-tags
from siyu.wecom.handover_cli import register as register_handover  # noqa: E402

register_handover(wecom_app)  # handover candidates|start|poll|list
from siyu.wecom.callback_cli import register as register_callbacks  # noqa: E402

register_callbacks(wecom_app)  # callbacks [--process]
from siyu.wecom.send_cli import register as register_send  # noqa: E402

register_send(wecom_app)  # mass-sends list|track|remind|cancel, moments list|create|poll
