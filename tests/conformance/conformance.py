#!/usr/bin/env python3
"""VodDesk emulator conformance suite.

Drives a running emulator with Tencent's official Python SDKs (tencentcloud-sdk-python-vod,
vod-python-sdk, cos-python-sdk-v5) and wechatpy. The SDKs are used unmodified; the only change
is where they send requests (VOD API and COS to --base, COS through the SDK's own `Domain`
option, WeCom's fixed host rewritten to --base, client upload to --base/v3/index.php).

Usage:
  conformance.py --base http://127.0.0.1:PORT --secret-id ID --secret-key KEY \
      --wecom-corp CORP --wecom-secret SECRET [--review-timeout 30]

Prints "PASS name" or "FAIL name: why" per check, then "N passed, M failed"; exits 1 on any
failure.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

results = []


def check(name, fn, *args):
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the suite
        results.append((name, repr(exc)))
        print("FAIL %s: %r" % (name, exc), flush=True)
        return False
    results.append((name, None))
    print("PASS %s" % name, flush=True)
    return True


def fetch(url, headers=None):
    """GET url; returns (status, headers, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write_random(path, size):
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            chunk = min(remaining, 1 << 20)
            f.write(os.urandom(chunk))
            remaining -= chunk
    with open(path, "rb") as f:
        return f.read()


class Suite:
    def __init__(self, args):
        self.a = args
        self.base = args.base.rstrip("/")
        split = urllib.parse.urlsplit(self.base)
        self.hostport = split.netloc
        self.scheme = split.scheme
        self.tmp = tempfile.mkdtemp(prefix="voddesk-conformance-")
        self.state = {}
        self._route_sdks()

    # -- SDK routing: addresses only ---------------------------------------------------------
    def _route_sdks(self):
        from routing import route_sdks
        from tencentcloud.common import credential
        import qcloud_vod.vod_upload_client as vuc

        ApiClient, RoutedCosConfig = route_sdks(self.hostport, self.scheme)
        self.ApiClient = ApiClient
        self.CosConfig = RoutedCosConfig
        self.credential = credential
        self.api = ApiClient(credential.Credential(self.a.secret_id, self.a.secret_key), "ap-guangzhou")
        self.uploader = vuc.VodUploadClient(self.a.secret_id, self.a.secret_key)

    def call(self, action, **params):
        from tencentcloud.vod.v20180717 import models
        req = getattr(models, action + "Request")()
        req.from_json_string(json.dumps(params))
        return getattr(self.api, action)(req)

    def expect_code(self, prefix, action, client=None, **params):
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.vod.v20180717 import models
        req = getattr(models, action + "Request")()
        req.from_json_string(json.dumps(params))
        try:
            getattr(client or self.api, action)(req)
        except TencentCloudSDKException as exc:
            assert exc.code == prefix or exc.code.startswith(prefix + "."), (exc.code, exc.message)
            assert exc.requestId, "an error without a RequestId"
            return exc.code
        raise AssertionError("%s was accepted; expected %s" % (action, prefix))

    def describe(self, file_id):
        rsp = self.call("DescribeMediaInfos", FileIds=[file_id])
        assert rsp.MediaInfoSet and rsp.MediaInfoSet[0].FileId == file_id, rsp.to_json_string()
        return rsp.MediaInfoSet[0]

    # -- server-API upload flow ---------------------------------------------------------------
    def upload_with_cover(self):
        from qcloud_vod.model import VodUploadRequest
        video = os.path.join(self.tmp, "编辑 clip one.mp4")
        self.state["small_bytes"] = write_random(video, 200 * 1024 + 3)
        cover = os.path.join(self.tmp, "clip.jpg")
        with open(cover, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0" + os.urandom(3000))
        with open(cover, "rb") as f:
            self.state["cover_bytes"] = f.read()
        req = VodUploadRequest()
        req.MediaFilePath = video
        req.CoverFilePath = cover
        req.MediaName = "conformance small"
        req.SourceContext = "suite=1"
        rsp = self.uploader.upload("ap-guangzhou", req)
        assert rsp.FileId.isdigit(), rsp.FileId
        assert rsp.MediaUrl and rsp.CoverUrl, rsp
        self.state["small"] = rsp.FileId

    def small_media_and_cover_back(self):
        info = self.describe(self.state["small"])
        assert info.BasicInfo.Name == "conformance small", info.BasicInfo.Name
        assert info.BasicInfo.Status == "Normal", info.BasicInfo.Status
        assert info.BasicInfo.Category == "Video", info.BasicInfo.Category
        assert info.MetaData.Size == len(self.state["small_bytes"]), info.MetaData.Size
        status, _, body = fetch(info.BasicInfo.MediaUrl)
        assert status == 200 and body == self.state["small_bytes"], status
        status, _, body = fetch(info.BasicInfo.CoverUrl)
        assert status == 200 and body == self.state["cover_bytes"], status

    def upload_multipart(self):
        from qcloud_vod.model import VodUploadRequest
        big = os.path.join(self.tmp, "big.mp4")
        self.state["big_bytes"] = write_random(big, 7 * 1024 * 1024 + 11)
        req = VodUploadRequest()
        req.MediaFilePath = big
        req.ConcurrentUploadNumber = 4
        rsp = self.uploader.upload("ap-guangzhou", req)
        assert rsp.FileId, rsp
        self.state["big"] = rsp.FileId

    def multipart_bytes_and_range(self):
        info = self.describe(self.state["big"])
        want = self.state["big_bytes"]
        status, _, body = fetch(info.BasicInfo.MediaUrl)
        assert status == 200 and sha(body) == sha(want), "whole object differs"
        status, headers, body = fetch(info.BasicInfo.MediaUrl, {"Range": "bytes=1048570-1048600"})
        assert status == 206, status
        assert body == want[1048570:1048601], "range bytes differ"
        assert headers["Content-Range"] == "bytes 1048570-1048600/%d" % len(want), headers["Content-Range"]

    def transcodes_have_hls_above_mp4(self):
        info = self.describe(self.state["big"])
        items = info.TranscodeInfo.TranscodeSet
        assert any(t.Definition == 0 for t in items), "no source entry"
        mp4 = [t.Bitrate for t in items if t.Container == "mp4" and t.Definition != 0]
        hls = [t.Bitrate for t in items if t.Container == "hls"]
        assert len(mp4) >= 2 and hls and max(hls) > max(mp4), (mp4, hls)

    # -- publishing ---------------------------------------------------------------------------
    def publish_passes(self):
        rsp = self.call("WeChatMiniProgramPublish", FileId=self.state["big"], SourceDefinition=0)
        assert rsp.TaskId, rsp.to_json_string()
        seen = set()
        deadline = time.time() + self.a.review_timeout
        while time.time() < deadline:
            task = self.call("DescribeTaskDetail", TaskId=rsp.TaskId)
            seen.add(task.Status)
            if task.Status == "FINISH":
                t = task.WechatMiniProgramPublishTask
                assert t is not None and t.ErrCode == 0 and t.PublishResult == "Pass", task.to_json_string()
                assert task.TaskType == "WechatMiniProgramPublish", task.TaskType
                break
            assert task.Status in ("WAITING", "PROCESSING"), task.Status
            time.sleep(0.2)
        else:
            raise AssertionError("review did not finish; saw %s" % sorted(seen))
        info = self.describe(self.state["big"])
        reviews = info.MiniProgramReviewInfo.MiniProgramReviewList
        assert reviews and reviews[0].ReviewResult == "Pass", info.to_json_string()
        self.state["page"] = reviews[0].Url

    def page_plays(self):
        status, headers, body = fetch(self.state["page"])
        assert status == 200 and b"<video" in body, (status, body[:200])
        status, _, body = fetch(self.state["page"] + "?lang=zh")
        assert status == 200 and "微信".encode() in body, status

    def forbid_recover(self):
        for operation, want, page_status in (("forbid", "Forbidden", 403), ("recover", "Normal", 200)):
            rsp = self.call("ForbidMediaDistribution", FileIds=[self.state["big"]], Operation=operation)
            assert not rsp.NotExistFileIdSet, rsp.to_json_string()
            got = self.describe(self.state["big"]).BasicInfo.Status
            assert got == want, "after %s: %s" % (operation, got)
            status, _, _ = fetch(self.state["page"])
            assert status == page_status, "page after %s: %s" % (operation, status)
        self.expect_code("InvalidParameterValue.Operation", "ForbidMediaDistribution",
                         FileIds=[self.state["big"]], Operation="hide")

    def publish_refusals(self):
        self.expect_code("InvalidParameterValue.FileId", "WeChatMiniProgramPublish", FileId="1")
        self.expect_code("InvalidParameterValue.SourceDefinition", "WeChatMiniProgramPublish",
                         FileId=self.state["big"], SourceDefinition=424242)
        self.expect_code("InvalidParameterValue.TaskId", "DescribeTaskDetail", TaskId="no-such-task")

    def search_finds(self):
        rsp = self.call("SearchMedia", Names=["conformance"], Sort={"Field": "CreateTime", "Order": "Desc"})
        ids = [m.FileId for m in rsp.MediaInfoSet]
        assert self.state["small"] in ids and rsp.TotalCount >= 1, rsp.to_json_string()
        self.expect_code("InvalidParameterValue.Sort", "SearchMedia", Sort={"Field": "Size", "Order": "Desc"})

    def delete_is_final(self):
        self.call("DeleteMedia", FileId=self.state["small"])
        rsp = self.call("DescribeMediaInfos", FileIds=[self.state["small"]])
        assert not rsp.MediaInfoSet and self.state["small"] in rsp.NotExistFileIdSet, rsp.to_json_string()
        self.expect_code("ResourceNotFound", "DeleteMedia", FileId=self.state["small"])

    def deleted_page_gone(self):
        self.call("DeleteMedia", FileId=self.state["big"])
        status, _, _ = fetch(self.state["page"])
        assert status == 410, status

    def wrong_keys(self):
        bad_key = self.ApiClient(self.credential.Credential(self.a.secret_id, self.a.secret_key + "x"), "ap-guangzhou")
        self.expect_code("AuthFailure.SignatureFailure", "DescribeMediaInfos", client=bad_key, FileIds=["1"])
        bad_id = self.ApiClient(self.credential.Credential("AKIDnobody" + "0" * 26, self.a.secret_key), "ap-guangzhou")
        self.expect_code("AuthFailure.SecretIdNotFound", "DescribeMediaInfos", client=bad_id, FileIds=["1"])
        self.expect_code("InvalidParameterValue.FileIdsOverLimit", "DescribeMediaInfos",
                         FileIds=[str(i) for i in range(21)])

    def cos_refuses_bad_token(self):
        from qcloud_cos import CosS3Client
        from qcloud_cos.cos_exception import CosServiceError
        applied = self.call("ApplyUpload", MediaType="mp4")
        cert = applied.TempCertificate
        key = applied.MediaStoragePath[1:]
        good = CosS3Client(self.CosConfig(Region=applied.StorageRegion, SecretId=cert.SecretId,
                                          SecretKey=cert.SecretKey, Token=cert.Token))
        good.put_object(Bucket=applied.StorageBucket, Key=key, Body=b"0123456789")
        got = good.get_object(Bucket=applied.StorageBucket, Key=key)["Body"].get_raw_stream().read()
        assert got == b"0123456789", got
        bad = CosS3Client(self.CosConfig(Region=applied.StorageRegion, SecretId=cert.SecretId,
                                         SecretKey=cert.SecretKey, Token=cert.Token + "x"))
        try:
            bad.put_object(Bucket=applied.StorageBucket, Key=key, Body=b"x" * 10)
        except CosServiceError as exc:
            assert exc.get_status_code() == 403, exc.get_status_code()
            assert exc.get_error_code() == "InvalidAccessKeyId", exc.get_error_code()
        else:
            raise AssertionError("a wrong x-cos-security-token was accepted")
        wrong = CosS3Client(self.CosConfig(Region=applied.StorageRegion, SecretId=cert.SecretId,
                                           SecretKey=cert.SecretKey + "x", Token=cert.Token))
        try:
            wrong.put_object(Bucket=applied.StorageBucket, Key=key, Body=b"x" * 10)
        except CosServiceError as exc:
            assert exc.get_error_code() == "SignatureDoesNotMatch", exc.get_error_code()
        else:
            raise AssertionError("a wrong temporary SecretKey was accepted")
        committed = self.call("CommitUpload", VodSessionKey=applied.VodSessionKey)
        assert committed.FileId, committed.to_json_string()

    # -- client upload (UGC) ------------------------------------------------------------------
    def sign(self, valid=3600, key=None, **extra):
        now = int(time.time())
        pairs = [("secretId", self.a.secret_id), ("currentTimeStamp", str(now)),
                 ("expireTime", str(now + valid)), ("random", str(random.randint(0, 2**32 - 1)))]
        pairs += [(k, str(v)) for k, v in extra.items()]
        original = "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="-_.~")) for k, v in pairs)
        mac = hmac.new((key or self.a.secret_key).encode(), original.encode(), hashlib.sha1).digest()
        return base64.b64encode(mac + original.encode()).decode()

    def ugc(self, action, body):
        req = urllib.request.Request("%s/v3/index.php?Action=%s" % (self.base, action),
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def ugc_flow(self):
        from qcloud_cos import CosS3Client
        video = os.path.join(self.tmp, "移动 upload.mp4")
        want = write_random(video, 2 * 1024 * 1024 + 5)
        cover = os.path.join(self.tmp, "ugc.png")
        with open(cover, "wb") as f:
            f.write(b"\x89PNG" + os.urandom(500))
        sig = self.sign(procedure="Flow1", sourceContext="who=me", classId=3)
        applied = self.ugc("ApplyUploadUGC", {"signature": sig, "videoName": "移动 upload", "videoType": "mp4",
                                              "videoSize": len(want), "coverName": "ugc", "coverType": "png",
                                              "coverSize": 504})
        assert applied["code"] == 0, applied
        d = applied["data"]
        for field in ("storageBucket", "storageAppId", "storageRegionV5", "vodSessionKey", "timestamp"):
            assert field in d, field
        cert = d["tempCertificate"]
        cos = CosS3Client(self.CosConfig(Region=d["storageRegionV5"], SecretId=cert["secretId"],
                                         SecretKey=cert["secretKey"], Token=cert["token"]))
        bucket = "%s-%s" % (d["storageBucket"], d["storageAppId"])
        cos.upload_file(Bucket=bucket, LocalFilePath=video, Key=d["video"]["storagePath"][1:],
                        PartSize=1, MAXThread=3)
        cos.upload_file(Bucket=bucket, LocalFilePath=cover, Key=d["cover"]["storagePath"][1:])
        committed = self.ugc("CommitUploadUGC", {"signature": sig, "vodSessionKey": d["vodSessionKey"]})
        assert committed["code"] == 0, committed
        status, _, body = fetch(committed["data"]["video"]["url"])
        assert status == 200 and body == want, status
        assert committed["data"]["cover"]["url"], committed
        info = self.describe(committed["data"]["fileId"])
        assert info.BasicInfo.ClassId == 3, info.BasicInfo.ClassId
        assert info.BasicInfo.SourceInfo.SourceContext == "who=me", info.BasicInfo.SourceInfo.to_json_string()

    def ugc_refusals(self):
        body = {"videoName": "x", "videoType": "mp4", "videoSize": 9}
        r = self.ugc("ApplyUploadUGC", dict(body, signature=self.sign(key=self.a.secret_key + "x")))
        assert r["code"] != 0, r
        r = self.ugc("ApplyUploadUGC", dict(body, signature=self.sign(valid=-5)))
        assert r["code"] == 10010, r
        r = self.ugc("ApplyUploadUGC", dict(body, signature=self.sign(valid=91 * 86400)))
        assert r["code"] != 0, r
        once = self.sign(oneTimeValid=1)
        first = self.ugc("ApplyUploadUGC", dict(body, signature=once))
        second = self.ugc("ApplyUploadUGC", dict(body, signature=once))
        assert first["code"] == 0 and second["code"] != 0, (first, second)

    def ugc_renewal(self):
        sig = self.sign()
        first = self.ugc("ApplyUploadUGC", {"signature": sig, "videoName": "r", "videoType": "mp4", "videoSize": 9})
        assert first["code"] == 0, first
        again = self.ugc("ApplyUploadUGC", {"signature": sig, "vodSessionKey": first["data"]["vodSessionKey"]})
        assert again["code"] == 0, again
        assert again["data"]["video"]["storagePath"] == first["data"]["video"]["storagePath"], again
        assert again["data"]["tempCertificate"]["secretId"] != first["data"]["tempCertificate"]["secretId"], again
        commit = self.ugc("CommitUploadUGC", {"signature": sig, "vodSessionKey": first["data"]["vodSessionKey"]})
        assert commit["code"] != 0, "a commit before the upload was accepted: %r" % commit

    # -- WeCom --------------------------------------------------------------------------------
    def wecom(self):
        import requests
        from wechatpy.enterprise import WeChatClient
        from wechatpy.exceptions import WeChatClientException

        real = requests.sessions.Session.request
        base = self.base

        def routed(session, method, url, *args, **kw):
            return real(session, method, url.replace("https://qyapi.weixin.qq.com", base), *args, **kw)

        requests.sessions.Session.request = routed
        try:
            client = WeChatClient(self.a.wecom_corp, self.a.wecom_secret)
            client.API_BASE_URL = base + "/cgi-bin/"

            def upload_and_get():
                path = os.path.join(self.tmp, "wecom.mp4")
                want = write_random(path, 300 * 1024)
                with open(path, "rb") as f:
                    r = client.media.upload("video", f)
                assert r["type"] == "video" and r["media_id"], r
                assert isinstance(r["created_at"], str), r
                resp = client.media.download(r["media_id"])
                assert resp.content == want, "downloaded bytes differ"
                assert "attachment" in resp.headers.get("Content-Disposition", ""), resp.headers
                ranged = requests.get(client.media.get_url(r["media_id"]), headers={"Range": "bytes=10-19"})
                assert ranged.status_code == 206 and ranged.content == want[10:20], ranged.status_code

            def limits():
                def refused(kind, name, data, code):
                    path = os.path.join(self.tmp, name)
                    with open(path, "wb") as f:
                        f.write(data)
                    try:
                        with open(path, "rb") as f:
                            client.media.upload(kind, f)
                    except WeChatClientException as exc:
                        assert exc.errcode == code, (name, exc.errcode, code)
                        return
                    raise AssertionError("%s (%s) was accepted" % (name, kind))
                refused("video", "huge.mp4", b"\0" * (10 * 1024 * 1024 + 1), 45001)
                refused("file", "tiny.txt", b"abc", 40006)
                refused("image", "pic.gif", b"GIF89a" + b"\0" * 100, 40004)
                refused("voice", "big.amr", b"#!AMR\n" + b"\0" * (2 * 1024 * 1024), 45001)
                refused("sticker", "x.txt", b"0123456789", 40005)

            def unknown_media():
                resp = client.media.download("no-such-media")
                assert resp.json()["errcode"] == 40007, resp.text

            def wrong_secret():
                bad = WeChatClient(self.a.wecom_corp, self.a.wecom_secret + "x")
                try:
                    bad.fetch_access_token()
                except WeChatClientException as exc:
                    assert exc.errcode == 40001, exc
                    return
                raise AssertionError("a wrong corpsecret was accepted")

            def wrong_corp():
                bad = WeChatClient(self.a.wecom_corp + "x", self.a.wecom_secret)
                try:
                    bad.fetch_access_token()
                except WeChatClientException as exc:
                    assert exc.errcode == 40013, exc
                    return
                raise AssertionError("a wrong corpid was accepted")

            check("WeCom upload a video and get the same bytes back (also by Range)", upload_and_get)
            check("WeCom enforces size, type and format limits", limits)
            check("WeCom media/get of an unknown media_id answers 40007", unknown_media)
            check("WeCom gettoken refuses a wrong secret with 40001", wrong_secret)
            check("WeCom gettoken refuses a wrong corpid with 40013", wrong_corp)
        finally:
            requests.sessions.Session.request = real

    def run(self):
        if check("VOD upload small file with cover (vod-python-sdk, PutObject)", self.upload_with_cover):
            check("small file and cover come back intact", self.small_media_and_cover_back)
            check("SearchMedia finds it by name", self.search_finds)
        if check("VOD multipart upload, 4 threads", self.upload_multipart):
            check("multipart bytes come back intact, Range answers 206", self.multipart_bytes_and_range)
            check("TranscodeInfo lists MP4 outputs and a higher-bitrate HLS", self.transcodes_have_hls_above_mp4)
            if check("WeChatMiniProgramPublish reviews to Pass", self.publish_passes):
                check("the publishing page plays (English and Chinese)", self.page_plays)
                check("forbid/recover shows in DescribeMediaInfos and on the page", self.forbid_recover)
            check("publishing refusals carry the service's codes", self.publish_refusals)
        check("wrong keys are refused with AuthFailure codes", self.wrong_keys)
        check("COS refuses a wrong token and a wrong key; CommitUpload after PutObject", self.cos_refuses_bad_token)
        if "small" in self.state:
            check("DeleteMedia removes the file for good", self.delete_is_final)
        if "page" in self.state:
            check("the page of a deleted file answers 410", self.deleted_page_gone)
        check("client upload: apply, COS multipart + cover, commit, bytes back", self.ugc_flow)
        check("client upload refuses bad, expired, too-long and reused one-time signatures", self.ugc_refusals)
        check("client upload renewal keeps paths with a fresh certificate", self.ugc_renewal)
        if self.a.wecom_corp:
            self.wecom()


# The distributions the suite drives, as pinned in requirements.txt beside this file.
SDKS = {
    "tencentcloud-sdk-python-vod": "tencentcloud.vod.v20180717.vod_client",
    "tencentcloud-sdk-python-common": "tencentcloud.common.abstract_client",
    "vod-python-sdk": "qcloud_vod.vod_upload_client",
    "cos-python-sdk-v5": "qcloud_cos",
    "wechatpy": "wechatpy.enterprise",
    "requests": "requests",
}


def require_sdks():
    """Exits 2 with a clear message when an SDK is missing: a suite that cannot run must not
    look like one that passed. Prints the versions found, so a run says what it checked."""
    import importlib
    from importlib import metadata

    missing = []
    found = []
    for dist, module in SDKS.items():
        try:
            importlib.import_module(module)
            found.append("%s %s" % (dist, metadata.version(dist)))
        except Exception as exc:  # noqa: BLE001 - any import failure means "not usable"
            missing.append("%s (%s: %r)" % (dist, module, exc))
    if missing:
        print("FAIL the official SDKs are not installed in %s: %s. Run bash scripts/test.sh, "
              "or pip install -r tests/conformance/requirements.txt"
              % (sys.executable, "; ".join(missing)), flush=True)
        print("0 passed, 1 failed", flush=True)
        sys.exit(2)
    print("SDKs: " + ", ".join(found), flush=True)


def main():
    require_sdks()
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--secret-id", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--wecom-corp")
    ap.add_argument("--wecom-secret")
    ap.add_argument("--review-timeout", type=float, default=30.0)
    Suite(ap.parse_args()).run()
    failed = sum(1 for _, err in results if err)
    print("%d passed, %d failed" % (len(results) - failed, failed), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
