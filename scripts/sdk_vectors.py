#!/usr/bin/env python3
"""Regenerates tests/fixtures/signatures.json by running Tencent's official Python SDKs with the
clock fixed, so anyone can check where the vectors come from.

    .venv-sdk/bin/python scripts/sdk_vectors.py            # rewrite the fixture
    .venv-sdk/bin/python scripts/sdk_vectors.py --check    # exit 1 if it differs from the SDKs

Needs the pinned SDKs of tests/conformance/requirements.txt (bash scripts/test.sh installs them
into .venv-sdk). What comes from where:
  tc3_hmac_sha256              tencentcloud-sdk-python-common, VodClient._build_req_with_tc3_signature
                               (the informational X-TC-RequestClient header, which names the SDK
                               version, is left out)
  cos_q_sign_sha1              cos-python-sdk-v5, qcloud_cos.cos_auth.CosS3Auth
  vod_client_upload_signature  the documented algorithm (no official Python SDK makes these):
                               Base64(HMAC-SHA1(SecretKey, original) || original), values
                               percent-encoded with urllib's quote(safe="")
  crc64_ecma_cos               the crcmod function cos-python-sdk-v5 uses (resumable_downloader)
All keys are examples.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import types
import urllib.parse
from importlib import metadata
from unittest import mock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "signatures.json")

SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
TC3_NOTE = ("body is the exact request body the official SDK sends (json.dumps, ASCII-escaped); "
            "the payload hash is over these bytes")
COS_NOTE = ("sign time is now-60;now+expire as cos-python-sdk-v5 does; the path signed is '/' + key, "
            "not percent-encoded")


def tc3_case(action, params, region, endpoint, token, timestamp):
    from tencentcloud.common import credential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vod.v20180717 import vod_client

    cred = credential.Credential(SECRET_ID, SECRET_KEY, token)
    http = HttpProfile(endpoint=endpoint)
    client = vod_client.VodClient(cred, region, ClientProfile(httpProfile=http))
    req = RequestInternal(endpoint, "POST", "/")
    with mock.patch("time.time", return_value=timestamp):
        client._build_req_with_tc3_signature(action, params, req)
    headers = {k: v for k, v in req.header.items() if k != "X-TC-RequestClient"}
    return {
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "token": token,
        "timestamp": timestamp,
        "region": region,
        "service": "vod",
        "version": "2018-07-17",
        "action": action,
        "host": endpoint,
        "body": req.data,
        "note": TC3_NOTE,
        "headers": headers,
        "authorization": headers["Authorization"],
    }


def cos_case(method, key, params, headers, now):
    from qcloud_cos import CosConfig
    from qcloud_cos.cos_auth import CosS3Auth

    host = "vodbucket-1250000000.cos.ap-guangzhou.myqcloud.com"
    conf = CosConfig(Region="ap-guangzhou", SecretId="AKIDtmpEXAMPLE", SecretKey="tmpSecretKeyEXAMPLE")
    url = "https://%s/%s" % (host, urllib.parse.quote(key.encode("utf-8"), safe="/-_.~"))
    if params:
        url += "?" + "&".join(k if v == "" else "%s=%s" % (k, v) for k, v in params.items())
    request = types.SimpleNamespace(method=method, url=url, headers=dict(headers))
    with mock.patch("time.time", return_value=now):
        CosS3Auth(conf, key, params=params, expire=3600)(request)
    return {
        "method": method,
        "key": key,
        "url": url,
        "params": params,
        "headers": headers,
        "signed_host": host,
        "secret_id": "AKIDtmpEXAMPLE",
        "secret_key": "tmpSecretKeyEXAMPLE",
        "now": now,
        "expire_seconds": 3600,
        "note": COS_NOTE,
        "authorization": request.headers["Authorization"],
    }


def ugc_case(params):
    original = "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="")) for k, v in params)
    mac = hmac.new(SECRET_KEY.encode(), original.encode("utf-8"), hashlib.sha1).digest()
    return {
        "secret_key": SECRET_KEY,
        "params": [list(p) for p in params],
        "original": original,
        "signature": base64.b64encode(mac + original.encode("utf-8")).decode(),
    }


def crc_cases():
    import crcmod

    crc = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
    cases = []
    for data in [b"123456789", b"", "媒体".encode("utf-8")]:
        cases.append({"hex_input": data.hex(), "length": len(data), "x-cos-hash-crc64ecma": str(crc(data))})
    pattern = bytes(range(256)) * 4097
    cases.append({"pattern": "bytes(range(256)) * 4097", "length": len(pattern),
                  "x-cos-hash-crc64ecma": str(crc(pattern))})
    return cases


def build():
    token = "tmp-token-EXAMPLE+/="
    upload_id = "1585130821cbb7df1d11846c073ad648"
    big = "1234567890/ab12cd34/big.mp4"
    return {
        "about": "Signature and checksum vectors made by running Tencent's official Python SDKs "
                 "(tencentcloud-sdk-python-common %s, cos-python-sdk-v5 %s) with the clock fixed. "
                 "All keys are examples." % (metadata.version("tencentcloud-sdk-python-common"),
                                             metadata.version("cos-python-sdk-v5")),
        "tc3_hmac_sha256": [
            tc3_case("ApplyUpload", {"MediaType": "mp4", "MediaName": "产品发布会 2026",
                                     "SourceContext": "editor=42&x=y"},
                     "ap-guangzhou", "vod.tencentcloudapi.com", None, 1763683200),
            tc3_case("WeChatMiniProgramPublish", {"FileId": "5285485487985271487", "SourceDefinition": 10},
                     "", "vod.tencentcloudapi.com", None, 1763686807),
            tc3_case("CommitUpload", {"VodSessionKey": "abc123", "SubAppId": 1500000001},
                     "ap-guangzhou", "127.0.0.1:9000", "session-token-EXAMPLE", 1763690414),
        ],
        "cos_q_sign_sha1": [
            cos_case("PUT", "1234567890/ab12cd34/媒体 small clip 小.mp4", {},
                     {"Content-Length": "307200", "Content-Type": "video/mp4", "x-cos-security-token": token},
                     1763683200),
            cos_case("PUT", big, {"partNumber": "3", "uploadId": upload_id},
                     {"Content-Length": "1048576", "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfw==",
                      "x-cos-security-token": token}, 1763683261),
            cos_case("POST", big, {"uploads": ""},
                     {"Content-Type": "video/mp4", "x-cos-security-token": token, "Content-Length": "0"},
                     1763683322),
            cos_case("GET", big, {"uploadId": upload_id, "part-number-marker": "0", "max-parts": "1000"},
                     {"x-cos-security-token": token}, 1763683383),
        ],
        "vod_client_upload_signature": [
            ugc_case([("secretId", SECRET_ID), ("currentTimeStamp", "1763683200"),
                      ("expireTime", "1763769600"), ("random", "220625")]),
            ugc_case([("secretId", SECRET_ID), ("currentTimeStamp", "1763683200"),
                      ("expireTime", "1771459200"), ("random", "3735928559"),
                      ("procedure", "QCVB_SimpleProcessFile({10,20},150,10,10)"), ("taskPriority", "0"),
                      ("taskNotifyMode", "Finish"), ("sourceContext", "编辑=张三&id=7"),
                      ("oneTimeValid", "1"), ("classId", "12")]),
        ],
        "crc64_ecma_cos": crc_cases(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the fixture instead of writing it")
    args = ap.parse_args()
    vectors = build()
    if args.check:
        with open(FIXTURE, encoding="utf-8") as f:
            current = json.load(f)
        if current != vectors:
            for section in vectors:
                if current.get(section) != vectors[section]:
                    print("differs from the SDKs: %s" % section, file=sys.stderr)
            sys.exit(1)
        print("tests/fixtures/signatures.json matches the official SDKs")
        return
    with open(FIXTURE, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s" % FIXTURE)


if __name__ == "__main__":
    time.tzset()
    main()
