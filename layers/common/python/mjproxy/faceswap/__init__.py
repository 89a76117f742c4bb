"""Face swap (plus API SWAP_FACE tasks): the face of one image put on the person in another.

trueai runs it on Replicate's InsightFace model. Of our providers only `openai` can: its image
edits take several input images and follow an instruction about them (faceswap/openai.py). On
`local`, `bedrock` and `midjourney` the submit answers 4 服务不支持 with the reason."""

from __future__ import annotations

SUPPORTED = ("openai",)
# Task inputs, in this order (refKeys): the image whose person gets the face, then the face.
TARGET, SOURCE = 0, 1
BOT_TYPE = "INSIGHT_FACE"  # the task's botType, as trueai sets it for SWAP_FACE
