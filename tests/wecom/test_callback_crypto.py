"""Callback crypto: Tencent's published sample vectors and wechatpy's WeChatCrypto as independent oracles."""

from __future__ import annotations

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from siyu.channels.wecom.crypto import CallbackCryptoError, WecomCrypto
from siyu.channels.wecom.events import parse_envelope, parse_event

# The sample in WeCom's 加解密方案 docs (developer.work.weixin.qq.com/document/path/90968).
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "wx5823bf96d3bd56c7"
SAMPLE_ENCRYPTED = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZf"
    "JYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAV"
    "GUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3K"
    "DYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

EVENT_XML = (
    "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"
    "<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmABC]]></ExternalUserID>"
    "<State><![CDATA[poster01]]></State><WelcomeCode><![CDATA[WELCOME]]></WelcomeCode></xml>"
)


def test_official_sample_url_verification() -> None:
    c = WecomCrypto(TOKEN, AES_KEY, CORP)
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    assert c.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echostr) == (
        "1616140317555161061"
    )


def test_official_sample_message() -> None:
    c = WecomCrypto(TOKEN, AES_KEY, CORP)
    plain = c.decrypt(
        "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", SAMPLE_ENCRYPTED
    )
    assert b"<Content><![CDATA[hello]]></Content>" in plain
    assert b"<MsgId>4561255354251345929</MsgId>" in plain
    with pytest.raises(CallbackCryptoError, match="signature"):
        c.decrypt("0" * 40, "1409659813", "1372623149", SAMPLE_ENCRYPTED)
    with pytest.raises(CallbackCryptoError, match="receive id"):
        WecomCrypto(TOKEN, AES_KEY, "another-corp").decrypt(
            "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", SAMPLE_ENCRYPTED
        )


def test_ours_decrypts_wechatpy() -> None:
    oracle = WeChatCrypto(TOKEN, AES_KEY, "wwcorp")
    envelope = oracle.encrypt_message(EVENT_XML, "nonce123", "1700000001")
    env = parse_envelope(envelope.encode("utf-8"))
    sig = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    plain = WecomCrypto(TOKEN, AES_KEY, "wwcorp").decrypt(sig, "1700000001", "nonce123", env.encrypt)
    assert plain.decode("utf-8") == EVENT_XML
    event = parse_event(plain)
    assert (event.change_type, event.user_id, event.external_user_id) == (
        "add_external_contact",
        "zhangsan",
        "wmABC",
    )
    assert (event.state, event.welcome_code, event.create_time) == ("poster01", "WELCOME", 1700000000)


def test_wechatpy_decrypts_ours_and_long_unicode() -> None:
    ours = WecomCrypto(TOKEN, AES_KEY, "wwcorp")
    for text in (EVENT_XML, "中文" * 37, "x" * 31, "y" * 32, ""):
        encrypted, sig = ours.encrypt(text.encode("utf-8"), "n1", "1700000002")
        body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        assert WeChatCrypto(TOKEN, AES_KEY, "wwcorp").decrypt_message(body, sig, "1700000002", "n1") == text
        assert ours.decrypt(sig, "1700000002", "n1", encrypted) == text.encode("utf-8")
    # URL verification through the oracle: it checks our signature over echostr and decrypts it.
    echo, sig = ours.encrypt(b"echo-42", "n2", "1700000003")
    assert WeChatCrypto(TOKEN, AES_KEY, "wwcorp").check_signature(sig, "1700000003", "n2", echo) == "echo-42"


def test_fixed_vector_is_deterministic() -> None:
    # Pinned with a fixed random prefix so a change in padding or layout shows up as a different ciphertext.
    ours = WecomCrypto(TOKEN, AES_KEY, "wwcorp")
    encrypted, sig = ours.encrypt(b"<xml>hi</xml>", "nonce", "1700000000", random_prefix=b"0123456789abcdef")
    plain = WeChatCrypto(TOKEN, AES_KEY, "wwcorp").decrypt_message(
        f"<xml><Encrypt>{encrypted}</Encrypt></xml>", sig, "1700000000", "nonce"
    )
    assert plain == "<xml>hi</xml>"
    again, sig2 = ours.encrypt(b"<xml>hi</xml>", "nonce", "1700000000", random_prefix=b"0123456789abcdef")
    assert (again, sig2) == (encrypted, sig)
    assert len(__import__("base64").b64decode(encrypted)) % 32 == 0


def test_bad_inputs_name_the_failure() -> None:
    with pytest.raises(CallbackCryptoError, match="43 characters"):
        WecomCrypto(TOKEN, "short", CORP)
    c = WecomCrypto(TOKEN, AES_KEY, CORP)
    bad = "not base64!!"
    with pytest.raises(CallbackCryptoError, match="base64"):
        c.decrypt(c.signature("1", "2", bad), "1", "2", bad)
    with pytest.raises(CallbackCryptoError, match="XML"):
        parse_envelope(b"<xml><Encrypt>")
    with pytest.raises(CallbackCryptoError):
        parse_envelope(
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
        )


def test_parse_chat_event_with_member_list() -> None:
    xml = (
        b"<xml><ToUserName>ww</ToUserName><CreateTime>1700000000</CreateTime><MsgType>event</MsgType>"
        b"<Event>change_external_chat</Event><ChatId>wrOgAA</ChatId><ChangeType>update</ChangeType>"
        b"<UpdateDetail>add_member</UpdateDetail><JoinScene>3</JoinScene><MemChangeCnt>2</MemChangeCnt>"
        b"<MemChangeList><Item>wmA</Item><Item>wmB</Item></MemChangeList></xml>"
    )
    e = parse_event(xml)
    assert (e.event, e.chat_id, e.update_detail, e.join_scene, e.mem_change_cnt) == (
        "change_external_chat",
        "wrOgAA",
        "add_member",
        3,
        2,
    )
    assert e.mem_change_list == ["wmA", "wmB"]
    assert e.dedupe_key() == parse_event(xml).dedupe_key()
