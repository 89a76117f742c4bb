"""Return codes of the submit envelope and their exact description strings (protocol.md §2).

Clients compare these strings and codes literally (new-api treats 1/21/22 as accepted and 3 as
"disable this channel"), so they live in one place and nowhere else.
"""

from __future__ import annotations

SUCCESS = 1
NOT_FOUND = 3
VALIDATION_ERROR = 4
FAILURE = 9
EXISTED = 21  # also "Waiting for window confirm" (the modal step, plus-api.md §2.1.2)
IN_QUEUE = 22
QUEUE_REJECTED = 23
BANNED_PROMPT = 24

# code 1 / 22 / 23 / 9 / 24
SUBMIT_SUCCESS = "提交成功"
IN_QUEUE_FMT = "排队中，前面还有{n}个任务"
QUEUE_FULL = "队列已满，请稍后尝试"
SUBMIT_FAILED = "提交失败，系统异常"
BANNED = "可能包含敏感词"
TASK_EXISTED = "任务已存在"
# code 21 of /mj/submit/action: web UIs look for "confirm" in it (plus-api.md §2.1.2)
WAITING_FOR_CONFIRM = "Waiting for window confirm"

# plus API (plus-api.md §2.1): answers of the task routes and the newer submit routes
OK = "成功"
CANCEL_REASON = "取消任务"  # failReason of a cancelled task (trueai's Fail("取消任务"))
BASE64_OR_LINK_EMPTY = "base64或link不能为空"
LINK_INVALID = "链接格式错误"
LINK_FETCH_FAILED_FMT = "链接图片下载失败: {reason}"
BASE64_PARAM_INVALID = "base64 参数错误"
IMAGE_OR_PROMPT_EMPTY = "image或prompt不能为空"
VIDEO_PROMPT_EMPTY = "Prompt 不能为空"
VIDEO_TASK_TYPE_INVALID = "任务类型错误"
VIDEO_DISABLED = "视频功能未启用"
# A provider in video.NO_EXTEND (none today) cannot continue a video at all.
VIDEO_EXTEND_UNSUPPORTED = "服务不支持: 视频延展 (extend)"
# midjourney: the account cannot answer Midjourney's Remix window now (providers/midjourney/extend.py)
VIDEO_EXTEND_REFUSED_FMT = "服务不支持: 视频延展 (extend): {reason}"
VIDEO_INDEX_INVALID = "index参数错误，应为0-3"
IMAGE_EMPTY = "image不能为空"
MOTION_INVALID = "motion参数错误"
UNSUPPORTED = "服务不支持"
EDIT_UNSUPPORTED = "服务不支持: 该实例的图像生成器未接入图片编辑 (edits/retexture)"
FACE_SWAP_UNSUPPORTED = "服务不支持: 换脸 (face swap) 只在 openai 实例上提供，本服务没有可用的 openai 实例"
FACE_SOURCE_EMPTY = "人脸图片不能为空"  # trueai InsightFaceController
FACE_TARGET_EMPTY = "目标图片不能为空"
FACE_SAME = "人脸图片和目标图片不能相同"
BOT_TYPE_INVALID = "botType参数错误"
MODE_NOT_ALLOWED_FMT = "账号不支持该模式: {mode}"

# code 3
PARENT_NOT_FOUND = "关联任务不存在或已失效"
NO_INSTANCE = "无可用的账号实例"
INSTANCE_UNAVAILABLE_FMT = "账号不可用: {id}"

# code 4
PROMPT_EMPTY = "prompt不能为空"
BASE64_INVALID = "base64格式错误"
BASE64_TOO_LARGE_FMT = "base64图片过大，最大{mb}MB"
# Ours (docs/limits.md): a field past its length limit, e.g. "prompt过长，最多8192个字符".
TOO_LONG_FMT = "{field}过长，最多{max}个字符"
# Ours: bytes that claim an image type but do not decode, or decode to too many pixels.
IMAGE_UNREADABLE = "base64图片无法解码"
IMAGE_TOO_MANY_PIXELS_FMT = "base64图片尺寸过大，最多{mp}百万像素"
BASE64_LIST_INVALID = "base64List参数错误"
DIMENSIONS_INVALID = "dimensions参数错误"
CONTENT_INVALID = "content参数错误"
TASK_ID_EMPTY = "taskId不能为空"
ACTION_INVALID = "action参数错误"
# The original forwards a missing or out-of-range index to Discord (or throws a 500); we answer
# with a code 4 that says what is allowed.
INDEX_INVALID = "index参数错误，应为1-4"
PARENT_STATUS_INVALID = "关联任务状态错误"
PARENT_ACTION_INVALID = "关联任务不允许执行变化"
# /mj/submit/action and /mj/submit/modal (plus-api.md §2.1.1)
PARAMS_INVALID = "参数错误"
ACTION_UNKNOWN = "未知的 Action 类型"
CUSTOM_ID_MISMATCH = "参数错误: customId不属于该任务"
ACTION_UNSUPPORTED_FMT = "当前账号不支持该操作: {label}"
# enableRemix on a Discord account whose remix setting is off (plus-api.md §2.1.2)
REMIX_OFF = "当前账号不支持 remix，请开启 remix 功能"
MASK_EMPTY = "maskBase64不能为空"
MASK_INVALID = "maskBase64格式错误"

# failReason strings set by the system itself
TIMEOUT_REASON = "任务超时"
# A task that never got a generator slot within MJ_NOT_START_TIMEOUT_MINUTES (sweeper.py). It
# starts with TIMEOUT_REASON so clients that look for "任务超时" treat it the same.
NOT_START_TIMEOUT_FMT = "任务超时: 排队超过{minutes}分钟仍未开始"
INSTANCE_NOT_AVAILABLE = "实例不存在或不可用"
# POST /mj/account/{id}/enable: trueai's admin routes answer an unknown account with 账号不存在
# (AdminController.cs); one disabled in configuration stays so until its configuration changes.
ACCOUNT_NOT_FOUND = "账号不存在"
ACCOUNT_DISABLED_IN_CONFIG_FMT = (
    "账号在配置中已禁用，无法在运行时启用: {id} (disabled in configuration: set enable to true "
    "in MJ_INSTANCES and redeploy)"
)
# A MODAL task never confirmed with /mj/submit/modal within MJ_MODAL_TIMEOUT_MINUTES.
MODAL_TIMEOUT_FMT = "任务超时: 超过{minutes}分钟未确认弹窗"
