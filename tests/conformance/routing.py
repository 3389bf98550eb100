"""Points Tencent's unmodified Python SDKs at another address (the emulator).

Addresses only: the VOD API client gets an HttpProfile with the endpoint and scheme, and
COS gets Scheme and Domain. vod-python-sdk's upload client is patched to build those.
Shared by the conformance suite and scripts/bench_upload.sh.
"""


def route_sdks(hostport, scheme):
    """Returns (ApiClient, RoutedCosConfig) for hostport and scheme, and makes
    qcloud_vod's VodUploadClient use them."""
    from qcloud_cos import CosConfig
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vod.v20180717 import vod_client
    import qcloud_vod.vod_upload_client as vuc

    class ApiClient(vod_client.VodClient):
        def __init__(self, cred, region, profile=None):
            http = HttpProfile(endpoint=hostport, protocol=scheme)
            http.scheme = scheme
            super().__init__(cred, region, ClientProfile(httpProfile=http))

    class RoutedCosConfig(CosConfig):
        def __init__(self, **kw):
            kw["Scheme"] = scheme
            kw["Domain"] = hostport
            super().__init__(**kw)

    vuc.vod_client.VodClient = ApiClient
    vuc.CosConfig = RoutedCosConfig
    return ApiClient, RoutedCosConfig
