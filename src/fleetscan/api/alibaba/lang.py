"""Every human-readable string of the Alibaba dialect, in Chinese and English.

Alibaba's APIs take `Lang` (`zh` default, or `en`) for the text they put in responses, e.g. the
NameDisplay of an event's details. Error messages follow an explicit `Lang` too, but default to
English, because Alibaba's gateway errors (NoPermission, InvalidVersion, ...) are English strings
that callers match on; see errors.py.
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
DEFAULT_CONTENT_LANG: Final[Lang] = "zh"
DEFAULT_ERROR_LANG: Final[Lang] = "en"

TEXTS: Final[dict[str, dict[Lang, str]]] = {
    # ---------------------------------------------------------------- error messages
    "NoPermission": {"en": "caller has no permission", "zh": "调用者没有权限"},
    "MissingAccessKeyId": {"en": "AccessKeyId is mandatory for this action.", "zh": "此操作必须提供 AccessKeyId。"},
    "InvalidAccessKeyId.NotFound": {"en": "Specified access key is not found.", "zh": "指定的 AccessKey 不存在。"},
    "SignatureDoesNotMatch": {
        "en": "Specified signature is not matched with our calculation.",
        "zh": "指定的签名与服务端计算结果不一致。",
    },
    "IncompleteSignature": {
        "en": "The request signature does not conform to Aliyun standards.",
        "zh": "请求签名不符合阿里云规范。",
    },
    "InvalidTimeStamp.Expired": {
        "en": "Specified time stamp or date value is expired.",
        "zh": "指定的时间戳或日期已过期。",
    },
    "InvalidTimeStamp.Format": {
        "en": "Specified time stamp or date value is not well formatted.",
        "zh": "指定的时间戳或日期格式不正确。",
    },
    "SignatureNonceUsed": {"en": "Specified signature nonce was used already.", "zh": "指定的签名随机数已被使用。"},
    "InvalidSignatureMethod": {"en": "Specified signature method is not valid.", "zh": "指定的签名方法无效。"},
    "RequestEntityTooLarge": {
        "en": "The request body is larger than {limit} bytes.",
        "zh": "请求体大于 {limit} 字节。",
    },
    "InvalidQuaraFileId.NotFound": {
        "en": "The specified quarantined file {id} does not exist.",
        "zh": "指定的隔离文件 {id} 不存在。",
    },
    "InvalidVersion": {"en": "Specified parameter Version is not valid.", "zh": "指定的参数 Version 无效。"},
    "InvalidAction.NotFound": {
        "en": "Specified api is not found, please check your url and method.",
        "zh": "指定的 API 不存在，请检查 URL 和请求方法。",
    },
    "MissingParameter": {
        "en": "The input parameter {name} that is mandatory for processing this request is not supplied.",
        "zh": "缺少处理此请求所必需的参数 {name}。",
    },
    "InvalidParameter": {
        "en": "The specified parameter {name} is not valid: {reason}.",
        "zh": "指定的参数 {name} 无效：{reason}。",
    },
    "InvalidTaskId.NotFound": {
        "en": "The specified task {task} does not exist.",
        "zh": "指定的任务 {task} 不存在。",
    },
    "DryRunOperation": {
        "en": "Request validation has been passed with DryRun flag set.",
        "zh": "请求校验已通过（已设置 DryRun 标志，未执行任何操作）。",
    },
    "Conflict": {"en": "The request conflicts with the current state: {detail}", "zh": "请求与当前状态冲突：{detail}"},
    "ServerError": {
        "en": "The request processing has failed due to some unknown error.",
        "zh": "由于未知错误，请求处理失败。",
    },
    # ---------------------------------------------------------------- reasons inside InvalidParameter
    "reason.int_range": {"en": "must be an integer from {lo} to {hi}", "zh": "必须是 {lo} 到 {hi} 之间的整数"},
    "reason.bool": {"en": "must be true or false", "zh": "必须是 true 或 false"},
    "reason.choice": {"en": "must be one of {choices}", "zh": "必须是以下值之一：{choices}"},
    "reason.length": {"en": "must be {lo} to {hi} characters long", "zh": "长度必须为 {lo} 到 {hi} 个字符"},
    "reason.array_name": {
        "en": "array items must be sent as {array}.1 to {array}.{max}",
        "zh": "数组元素必须以 {array}.1 到 {array}.{max} 的形式传递",
    },
    "reason.array_gap": {
        "en": "array items must be numbered from 1 without gaps",
        "zh": "数组元素必须从 1 开始连续编号",
    },
    "reason.control": {"en": "must not contain control characters", "zh": "不能包含控制字符"},
    "reason.unicode": {"en": "must be valid Unicode text", "zh": "必须是有效的 Unicode 文本"},
    "reason.duplicate": {"en": "is given more than once", "zh": "重复出现"},
    "reason.json_array": {
        "en": "must be a JSON array of 1 to {max} items",
        "zh": "必须是包含 1 到 {max} 个元素的 JSON 数组",
    },
    "reason.json_object": {"en": "must be a JSON object", "zh": "必须是 JSON 对象"},
    "reason.target_entry": {
        "en": 'item {index} must be an object with "type" uuid or groupId and a "target" of 1 to 128 characters',
        "zh": '第 {index} 个元素必须是对象，"type" 为 uuid 或 groupId，"target" 长度为 1 到 128 个字符',
    },
    "reason.unknown_host": {"en": "there is no host {target}", "zh": "主机 {target} 不存在"},
    "reason.unknown_group": {"en": "there is no host in group {target}", "zh": "分组 {target} 中没有主机"},
    "reason.no_hosts": {"en": "there is no host to scan", "zh": "没有可扫描的主机"},
    "reason.time_order": {"en": "must not be earlier than StartTime", "zh": "不能早于 StartTime"},
    "reason.scan_path_needed": {
        "en": "at least one path is required when ScanType is user",
        "zh": "ScanType 为 user 时至少需要一个路径",
    },
    "reason.scan_path_forbidden": {"en": "is only allowed when ScanType is user", "zh": "仅在 ScanType 为 user 时允许"},
    "reason.both_targets": {"en": "cannot be combined with Param.targetInfo", "zh": "不能与 Param.targetInfo 同时使用"},
    "reason.encoding": {
        "en": "the request parameters are not validly percent-encoded UTF-8",
        "zh": "请求参数不是有效的百分号编码 UTF-8",
    },
    "reason.core": {"en": "{detail}", "zh": "{detail}"},
    # ---------------------------------------------------------------- recommendations in error bodies
    "recommend.auth": {
        "en": "Check the AccessKey ID and secret and the caller's clock; send each signed request only once.",
        "zh": "请检查 AccessKey ID 和密钥以及调用方时钟；每个已签名的请求只能发送一次。",
    },
    "recommend.default": {
        "en": "Check the Code and Message of this error, correct the request and send it again.",
        "zh": "请根据错误的 Code 和 Message 修正请求后重新发送。",
    },
    # ---------------------------------------------------------------- ListVirusScanMachineEvent Details
    "detail.file_path": {"en": "File Path", "zh": "文件路径"},
    "detail.virus_name": {"en": "Virus Name", "zh": "病毒名称"},
    "detail.virus_type": {"en": "Virus Type", "zh": "病毒类型"},
    "detail.file_sha256": {"en": "File SHA256", "zh": "文件SHA256"},
    "detail.file_size": {"en": "File Size (bytes)", "zh": "文件大小（字节）"},
    "detail.file_owner": {"en": "File Owner", "zh": "文件所有者"},
    "detail.file_mtime": {"en": "File Modified At (ms)", "zh": "文件修改时间（毫秒）"},
}


def text(key: str, lang: Lang, **args: object) -> str:
    """The text `key` in `lang`, with `{name}` placeholders filled from `args`."""
    template = TEXTS[key][lang]
    return template.format(**args) if args else template
