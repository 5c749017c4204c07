"""WeCom in the product: settings, callbacks, sync, channel codes, welcomes, platform mass sends, moments, handover."""
