"""Operators: check the connection, manage keyframes, and Process the shot (modal, Esc cancels)."""
from __future__ import annotations

import time

import bpy

from .job import describe_server
from .plan import PlanError, add_keyframe, network_refusal


def offline_reason(context) -> "str | None":
    """Why the scene's server may not be contacted now (``bpy.app.online_access``), or None."""
    return network_refusal(context.scene.ftpvm.server, bpy.app.online_access,
                           getattr(bpy.app, "online_access_override", False))


def _poll_online(cls, context) -> bool:
    reason = offline_reason(context)
    if reason is not None:
        cls.poll_message_set(reason)
    return reason is None


def _report_failure(op: "bpy.types.Operator", props, message: str) -> set:
    props.last_message = message
    op.report({"ERROR"}, message)
    return {"CANCELLED"}


class FTPVM_OT_check_connection(bpy.types.Operator):
    """Ask the server who it is"""

    bl_idname = "ftpvm.check_connection"
    bl_label = "Check connection"

    poll = classmethod(_poll_online)

    def execute(self, context):
        props = context.scene.ftpvm
        try:
            props.status = describe_server(props.server)
        except Exception as exc:  # noqa: BLE001 - a report, never a traceback
            props.status = "not reachable"
            return _report_failure(self, props, f"FTP-VM: cannot reach {props.server}: {exc}")
        self.report({"INFO"}, props.status)
        return {"FINISHED"}


class FTPVM_OT_keyframe_add(bpy.types.Operator):
    """Add the current frame as a keyframe"""

    bl_idname = "ftpvm.keyframe_add"
    bl_label = "Add keyframe"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        props = context.scene.ftpvm
        frames = add_keyframe([k.frame for k in props.keyframes], context.scene.frame_current)
        props.keyframes.clear()
        for f in frames:
            props.keyframes.add().frame = f
        props.keyframe_index = frames.index(context.scene.frame_current)
        return {"FINISHED"}


class FTPVM_OT_keyframe_remove(bpy.types.Operator):
    """Remove the selected keyframe"""

    bl_idname = "ftpvm.keyframe_remove"
    bl_label = "Remove keyframe"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return len(context.scene.ftpvm.keyframes) > 0

    def execute(self, context):
        props = context.scene.ftpvm
        index = min(max(props.keyframe_index, 0), len(props.keyframes) - 1)
        props.keyframes.remove(index)
        props.keyframe_index = max(0, index - 1)
        return {"FINISHED"}


class FTPVM_OT_process_shot(bpy.types.Operator):
    """Matte the clip with FTP-VM on the server and wire alpha and foreground into the compositor"""

    bl_idname = "ftpvm.process_shot"
    bl_label = "Process shot"

    _runner = None
    _timer = None

    poll = classmethod(_poll_online)

    def _start(self, context):
        from .runner import ProcessRunner

        props = context.scene.ftpvm
        props.last_message = ""
        try:
            return ProcessRunner(context.scene)
        except (PlanError, OSError, RuntimeError) as exc:
            _report_failure(self, props, f"FTP-VM: {exc}")
        except Exception as exc:  # noqa: BLE001 - a report, never a traceback
            _report_failure(self, props, f"FTP-VM: unexpected problem: {exc}")
        return None

    def _end(self, context, runner) -> set:
        props = context.scene.ftpvm
        props.last_message = runner.message
        if runner.state == "done":
            self.report({"INFO"}, runner.message)
            return {"FINISHED"}
        self.report({"WARNING"} if runner.state == "cancelled" else {"ERROR"}, runner.message)
        return {"CANCELLED"}

    def execute(self, context):
        """Run to the end without an event loop (background mode, scripts)."""
        runner = self._start(context)
        if runner is None:
            return {"CANCELLED"}
        while not runner.step():
            time.sleep(0.002)
        return self._end(context, runner)

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        self._runner = self._start(context)
        if self._runner is None:
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.02, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        runner = self._runner
        if runner is None:  # invoke returns before modal starts when there is no runner
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            runner.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"} if event.type != "ESC" else {"RUNNING_MODAL"}
        finished = runner.step()
        context.window_manager.progress_update(int(100 * runner.fraction))
        if context.workspace is not None:
            context.workspace.status_text_set(
                None if finished else f"FTP-VM {runner.job.shot_id}: {runner.activity}, {runner.written}/"
                                      f"{runner.total} frames done (Esc to cancel)")
        if not finished:
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self._timer)
        context.window_manager.progress_end()
        return self._end(context, runner)


CLASSES = (FTPVM_OT_check_connection, FTPVM_OT_keyframe_add, FTPVM_OT_keyframe_remove, FTPVM_OT_process_shot)


register, unregister = bpy.utils.register_classes_factory(CLASSES)

