"""Pillow and PyAV are in the media layer only (template MediaLayer), so on AWS an API function
without that layer cannot import them: each such function answers its requests here with both
made unimportable, as on Lambda. The layer assignment itself is checked on the template as SAM
transforms it (Globals' CommonLayer first, the media layer appended)."""

from __future__ import annotations

import sys

import pytest

from mjproxy.local.template import Template
from tests.harness import ROOT
from tests.scenarios import data_url, png_bytes, run_to_end, submit_ok
from tests.template_iam import transformed

MEDIA = {"WorkerFunction", "WaitWorkerFunction", "DeadLetterFunction", "NotifierFunction",
         "SweeperFunction", "DiscordPollerFunction", "DiscordEventsFunction",
         "ImageRedirectFunction"}  # fmt: skip


def requests(parent: str, custom_id: str, modal: str) -> dict[str, list[tuple[str, str, object]]]:
    """Each layer-less API function's requests, the image-taking ones with real images."""
    png = data_url(png_bytes((48, 32)))
    return {
        "NotFoundFunction": [("GET", "/mj/no-such-route", None)],
        "SubmitImagineFunction": [("POST", "/mj/submit/imagine",
                                   {"prompt": "a lighthouse", "base64Array": [png]})],
        "SubmitChangeFunction": [("POST", "/mj/submit/change",
                                  {"taskId": parent, "action": "UPSCALE", "index": 1})],
        "SubmitActionFunction": [("POST", "/mj/submit/action",
                                  {"taskId": parent, "customId": custom_id})],
        "SubmitModalFunction": [("POST", "/mj/submit/modal",
                                 {"taskId": modal, "prompt": "x", "maskBase64": png})],
        "TaskFetchFunction": [("GET", f"/mj/task/{parent}/fetch", None)],
        "SubmitSimpleChangeFunction": [("POST", "/mj/submit/simple-change",
                                        {"content": f"{parent} V2"})],
        "SubmitDescribeFunction": [("POST", "/mj/submit/describe", {"base64": png})],
        "SubmitBlendFunction": [("POST", "/mj/submit/blend", {"base64Array": [png, png]})],
        "TaskListFunction": [("GET", "/mj/task/list", None)],
        "TaskListByConditionFunction": [("POST", "/mj/task/list-by-condition",
                                         {"ids": [parent]})],
        "TaskQueueFunction": [("GET", "/mj/task/queue", None)],
        "AccountListFunction": [("GET", "/mj/account/list", None)],
        "AccountFetchFunction": [("GET", "/mj/account/local-1/fetch", None)],
        "AccountEnableFunction": [("POST", "/mj/account/local-1/enable", {})],
        "ConsoleFunction": [("GET", "/console", None)],
        "TaskCancelFunction": [("POST", f"/mj/task/{parent}/cancel", {})],
        "TaskImageSeedFunction": [("GET", f"/mj/task/{parent}/image-seed", None)],
        "SubmitUploadDiscordImagesFunction": [("POST", "/mj/submit/upload-discord-images",
                                               {"base64Array": [png]})],
        "SubmitShortenFunction": [("POST", "/mj/submit/shorten", {"prompt": "a lighthouse"})],
        "OpenApiFunction": [("GET", "/mj/openapi.json", None)],
        "SubmitVideoFunction": [("POST", "/mj/submit/video", {"prompt": "pan", "image": png})],
        "FaceSwapFunction": [("POST", "/mj/insight-face/swap",
                              {"sourceBase64": png, "targetBase64": png})],
        "SubmitEditsFunction": [("POST", "/mj/submit/edits", {"prompt": "a hat", "image": png})],
        "SubmitRetextureFunction": [("POST", "/mj/submit/retexture",
                                     {"prompt": "gold", "image": png})],
    }  # fmt: skip


def test_only_the_functions_that_draw_crop_or_encode_get_the_media_layer():
    resources = transformed()["Resources"]
    layers = {
        name: [ref["Ref"].rstrip("0123456789abcdef") for ref in res["Properties"]["Layers"]]
        for name, res in resources.items()
        if res["Type"] == "AWS::Lambda::Function"
    }
    assert {n for n, refs in layers.items() if "MediaLayer" in refs} == MEDIA
    assert all(refs[0] == "CommonLayer" and len(refs) <= 2 for refs in layers.values()), layers


def test_functions_without_the_media_layer_answer_without_pillow_or_pyav(system, monkeypatch):
    parent = submit_ok(system, "/mj/submit/imagine", {"prompt": "a lighthouse"})
    done = run_to_end(system, parent)
    custom_id = done["buttons"][0]["customId"]
    # A Vary (Region) modal waiting for its mask: U1, then the upscale's Inpaint button.
    upscale = run_to_end(system, submit_ok(system, "/mj/submit/action",
                                           {"taskId": parent, "customId": custom_id}))  # fmt: skip
    inpaint = next(b["customId"] for b in upscale["buttons"] if "Inpaint" in b["customId"])
    modal = system.post("/mj/submit/action", {"taskId": upscale["id"], "customId": inpaint})
    assert modal.json()["code"] == 21
    layerless = {fn.name for fn in Template(ROOT / "template.yaml").functions()
                 if fn.routes and "MediaLayer" not in fn.layers}  # fmt: skip
    table = requests(parent, custom_id, modal.json()["result"])
    assert set(table) == layerless, "every API function without the media layer is driven here"
    for name in ("PIL", "av"):  # as on Lambda without the layer: `import PIL` fails
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, module)
        monkeypatch.setitem(sys.modules, name, None)
    for name, calls in table.items():
        for method, path, body in calls:
            r = system.request(method, path, body)
            assert r.status < 500, (name, path, r.status, r.text[:300])
            if path.startswith("/mj/submit/"):
                out = r.json()
                assert out["code"] in (1, 21, 22, 24), (name, out)
    with pytest.raises(ImportError):
        import PIL  # noqa: F401 - the block held throughout
