"""The generation engine: loads ZImagePipeline once, runs requests, emits typed events.

Phases per image: encode the prompt (cached per batch), denoise to latents (``output_type="latent"``
with a per-step callback for progress, preview and cancel), decode with the VAE exactly as the
pipeline does, then write the PNG atomically. The result is pixel-identical to a direct
``ZImagePipeline(...)`` call with the same arguments and seed.
"""

from __future__ import annotations

import gc
import logging
import os
import platform
import time
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

# Before torch is imported: limit fragmentation over long sessions (unless the user chose).
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

import torch  # noqa: E402

from zit_desktop import __version__  # noqa: E402
from zit_desktop.core.engine import loader, refine, strategies
from zit_desktop.core.engine.embed_cache import EmbedCache, cache_key, text_encoder_identity  # noqa: E402
from zit_desktop.core.engine.lowvram import (  # noqa: E402
    FRAGMENTED_RETRY,
    SYSMEM_ADVICE,
    LowVram,
    SysmemWatch,
    check_latents,
)
from zit_desktop.core.engine.lowvram import is_oom as _is_oom  # noqa: E402
from zit_desktop.core.engine.preview import latents_to_rgb  # noqa: E402
from zit_desktop.core.engine.upscale import UpscalerCache  # noqa: E402
from zit_desktop.core.errors import AppError, ErrorKind  # noqa: E402
from zit_desktop.core.events import (  # noqa: E402
    Cancelled,
    CancelToken,
    EventCallback,
    Failed,
    Finished,
    ImageResult,
    ImageSaved,
    JobStarted,
    Loading,
    Notice,
    Preview,
    Step,
)
from zit_desktop.core.jobs import internal_failure  # noqa: E402
from zit_desktop.core.memory.advisor import MemoryAdvisor  # noqa: E402
from zit_desktop.core.memory.gpu_probe import health_record  # noqa: E402
from zit_desktop.core.memory.rss import RssSampler  # noqa: E402
from zit_desktop.core.memory.rungs import Rung  # noqa: E402
from zit_desktop.core.paths import AppPaths  # noqa: E402
from zit_desktop.core.request import (  # noqa: E402
    REFINE,
    UPSCALE,
    GenerationRequest,
    RequestError,
    prompt_token_warning,
    validate,
)
from zit_desktop.core.settings import Settings  # noqa: E402
from zit_desktop.core.sizes import MAX_SEQUENCE_LENGTH  # noqa: E402

log = logging.getLogger(__name__)


class _CancelledError(Exception):
    """Raised from the step callback to abort the pipeline with no decode."""


def is_oom(exc: BaseException) -> bool:
    return _is_oom(exc)


class Engine:
    """Runs generation requests one at a time. Not thread-safe: one worker thread owns it."""

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings | None = None,
        device: str | None = None,
        preview_every: int = 1,
        advisor: MemoryAdvisor | None = None,
    ) -> None:
        """``advisor``: the app's one memory advisor, shared with the window so the preset badges
        see the peaks this engine measures; without one (the CLI) the engine makes its own."""
        self.paths = paths
        self.settings = settings or Settings()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = loader.compute_dtype(self.device)
        self.preview_every = max(1, preview_every)
        self._pipe: Any = None
        self._model_ref: tuple[str, str] | None = None  # (model, transformer file): the cache key
        self._variant = ""
        # the applied strategy, the low-VRAM planner glue, the embedding cache
        self._spec: strategies.StrategySpec | None = None
        self._plan: Any = None
        self._model_dir: Path | None = None
        self._encoder_id = ""
        self.lowvram = LowVram(paths, self.settings, self.device, advisor)
        disk = paths.cache / "embeddings" if self.settings.embedding_disk_cache else None
        self._embed_cache = EmbedCache(capacity=32, disk_dir=disk)
        self._sysmem = SysmemWatch()
        self._phase = "idle"  # the phase running now, named in out-of-memory notices
        self._rss = RssSampler()  # peak RSS per image; the first image of a job includes the load
        self.upscalers = UpscalerCache()  # the last upscaler loaded, kept between upscale jobs
        self._told_no_gpu: set[str] = set()  # jobs already told that their GPU rung runs on the CPU

    def update_settings(self, settings: Settings) -> None:
        """New preferences, used from the next job on (the caller hands over its own copy). A new
        model is loaded at the next run; memory choices apply at the next plan."""
        self.settings = settings
        self.lowvram.settings = settings

    # ------------------------------------------------------------------ model lifecycle
    @property
    def pipeline(self) -> Any:
        return self._pipe

    def load(self, model: str, emit: EventCallback, transformer: str = "", variant: str = "") -> Any:
        """Load (or reuse) the pipeline for ``model`` (its transformer from the file ``transformer``
        when given). Raises AppError for missing/broken models, naming ``variant`` when one is missing."""
        if self._pipe is not None and self._model_ref == (model, transformer):
            return self._pipe
        self.unload()
        self._pipe = loader.load_pipeline(model, self.dtype, emit, transformer=transformer, variant=variant)
        self._model_ref = (model, transformer)
        self._variant = variant
        self._spec = None
        try:
            self._model_dir = loader.resolve_model_dir(model)
        except AppError:
            self._model_dir = None
        self._encoder_id = text_encoder_identity(self._model_dir or model, self.dtype)  # the transformer file does not change embeddings
        return self._pipe

    def _reload(self, emit: EventCallback) -> Any:
        """A fresh pipeline from disk: the clean undo of group offload and fp8 storage."""
        assert self._model_ref is not None
        model, transformer = self._model_ref
        self._pipe = None
        self._spec = None
        self.free_memory()
        self._pipe = loader.load_pipeline(model, self.dtype, emit, transformer=transformer, variant=self._variant)
        return self._pipe

    def unload(self) -> None:
        self._pipe = None
        self._model_ref = None
        self._spec = None
        self._embed_cache.clear()
        self.upscalers.clear()
        self.free_memory()

    def free_memory(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # ------------------------------------------------------------------ strategy
    # The planner chooses the rung; strategies.apply() puts the pipeline on it.
    def choose_plan(self, request: GenerationRequest) -> Any:
        """The planner's Plan for one image (core.memory.plan.Plan)."""
        return self.lowvram.plan(request, self._model_dir)

    def apply_plan(self, plan: Any, emit: EventCallback) -> Any:
        """Put the pipeline on ``plan``'s rung; returns the pipeline (a fresh one after a reload)."""
        spec = strategies.StrategySpec.from_plan(plan).effective(self.device)
        if spec == self._spec:
            return self._pipe
        if strategies.needs_reload(self._spec, spec):
            emit(
                Loading(
                    "strategy",
                    f"Reloading the model to switch to the '{spec.rung}' memory strategy",
                    {"rung": str(spec.rung)},
                )
            )
            self._reload(emit)
        else:
            strategies.undo(self._pipe, self._spec)
        self._spec = spec  # before apply: a half-applied strategy is undone as this one
        strategies.apply(self._pipe, spec, self.device)
        return self._pipe

    def strategy_run(self, plan: Any) -> str:
        """The strategy that really runs for ``plan``, as the history, the PNG and the events record
        it: on a machine without a usable GPU every rung is plain CPU execution, ``cpu``, whatever
        rung the settings (``--low-vram gpu``) asked for. The plan keeps its rung, so the OOM ladder
        and what it learns are the same on every machine."""
        return str(plan.rung) if self.device.type == "cuda" else str(Rung.CPU)

    # ------------------------------------------------------------------ running
    def environment(self, strategy: str) -> dict[str, Any]:
        import diffusers
        import transformers

        env: dict[str, Any] = {
            "app": __version__,
            "diffusers": diffusers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "os": platform.platform(terse=True),
            "device": self.device.type,
            "dtype": str(self.dtype).removeprefix("torch."),
            "strategy": strategy,
        }
        if self.device.type == "cuda":
            env["gpu"] = torch.cuda.get_device_name(self.device)
        return env

    def run(
        self,
        request: GenerationRequest,
        on_event: EventCallback,
        cancel: CancelToken | None = None,
        job_id: str | None = None,
    ) -> Finished | Failed | Cancelled:
        """Run a whole request (``count`` images). Never raises for expected failures."""
        job_id = job_id or uuid.uuid4().hex[:12]
        cancel = cancel or CancelToken()
        done: list[ImageResult] = []
        t_job = time.perf_counter()

        def final(event: Finished | Failed | Cancelled) -> Finished | Failed | Cancelled:
            self._rss.stop()
            on_event(event)
            return event

        self._rss.start()
        self._rss.take_peak()  # the job starts a new stretch

        try:
            if request.finalize is not None and request.finalize.method == UPSCALE:
                from zit_desktop.core.engine.upscale_job import run_upscale  # no pipeline, no validate()

                return final(run_upscale(self, request, on_event, cancel, job_id))
            for warning in validate(request):
                on_event(Notice(job_id, "warning", warning))
            request = request.resolved()
            if cancel.cancelled:
                return final(Cancelled(job_id))
            t_load = time.perf_counter()
            pipe = self.load(request.model, on_event, request.transformer, request.variant)
            load_s = time.perf_counter() - t_load
            if request.finalize is not None and request.finalize.method == REFINE:
                request = refine.resolve_tile(self, request, job_id, on_event)  # whole or tiled, once per job
            for index in range(request.count):
                if cancel.stops_before(index):
                    return final(Cancelled(job_id, tuple(done)))
                single = request.single(index)
                result, picture = self._run_one(pipe, single, index, request.count, job_id, on_event, cancel)
                if index == 0 and load_s > 0.05:
                    result.timings["load"] = round(load_s, 4)
                done.append(result)
                on_event(ImageSaved(job_id, result, picture))
            total = time.perf_counter() - t_job
            return final(Finished(job_id, tuple(done), {"total": round(total, 4), "load": round(load_s, 4)}))
        except _CancelledError:
            self.free_memory()
            return final(Cancelled(job_id, tuple(done)))
        except RequestError as exc:
            return final(Failed(job_id, ErrorKind.BAD_INPUT.value, str(exc), "", tuple(done)))
        except AppError as exc:
            self.free_memory()
            return final(Failed(job_id, exc.kind.value, exc.message, exc.detail, tuple(done)))
        except Exception:  # a bug: report it as a failure with the traceback, keep the worker
            log.exception("internal error while generating")
            self.free_memory()
            failure = internal_failure(job_id, "while generating")
            return final(replace(failure, images=tuple(done)))

    def _run_one(
        self,
        pipe: Any,
        req: GenerationRequest,
        index: int,
        total: int,
        job_id: str,
        emit: EventCallback,
        cancel: CancelToken,
    ) -> tuple[ImageResult, Any]:
        # OOM recovery steps down the ladder here (see strategies / core.memory.plan).
        plan = self.choose_plan(req)
        retries = 0
        defragged = False  # this rung was already retried once after freeing a fragmented cache
        emit(JobStarted(job_id, index, total, req.seed, self.strategy_run(plan)))
        while True:
            detail = ""
            try:
                return self._attempt(plan, req, index, job_id, emit, cancel, retries)
            except Exception as exc:
                if not is_oom(exc):
                    raise
                detail = f"{type(exc).__name__} during {self._phase} on '{plan.rung}': {exc}"
            # Outside the except block: the traceback, and the tensors its frames hold, are gone.
            log.warning("out of memory: %s", detail)
            split = self.lowvram.fragmented_bytes()  # before freeing: emptying the cache returns them
            self.free_memory()
            if split and not defragged:  # fragmentation, not size: the same rung once more, then leaner
                defragged, retries = True, retries + 1
                emit(Notice(job_id, "oom-defrag", FRAGMENTED_RETRY.format(rung=plan.rung, gb=split / 1e9),
                            {"rung": plan.rung, "phase": self._phase, "inactive_split_bytes": split}))  # fmt: skip
                continue
            defragged = False
            nxt = plan.next_rung()
            if nxt is None:
                raise self.lowvram.out_of_memory(req, self._model_dir, detail)
            emit(
                Notice(
                    job_id,
                    "oom-retry",
                    f"Out of {'video ' if self.device.type == 'cuda' else ''}memory during {self._phase} "
                    f"with '{plan.rung}'; retrying the same image "
                    f"(same seed) with the leaner '{nxt.rung}' strategy.",
                    {"from": plan.rung, "to": nxt.rung, "phase": self._phase, "retry": retries + 1},
                )
            )
            self.lowvram.remember_oom(req, nxt.rung)
            plan, retries = nxt, retries + 1

    def _attempt(
        self,
        plan: Any,
        req: GenerationRequest,
        index: int,
        job_id: str,
        emit: EventCallback,
        cancel: CancelToken,
        retries: int,
    ) -> tuple[ImageResult, Any]:
        """One try at one image on ``plan``'s rung: (its result, the saved PIL image)."""
        self._phase = "load"
        self._plan = plan
        pipe = self.apply_plan(plan, emit)
        strategy = self.strategy_run(plan)
        if strategy != plan.rung and job_id not in self._told_no_gpu:
            self._told_no_gpu.add(job_id)  # once per job, not per image or retry
            emit(
                Notice(
                    job_id,
                    "no-gpu",
                    f"The '{plan.rung}' memory strategy needs an NVIDIA GPU, and there is none to use here: "
                    "the image is generated on the CPU instead (much slower).",
                    {"requested": str(plan.rung), "used": strategy},
                )
            )
        if self.device.type == "cuda":
            # Return the previous job's cached blocks first: the reset peak starts from what is
            # reserved now, so without this a small image would report the last large one's peak
            # (and the planner would learn it). Also keeps long sessions from fragmenting.
            self.free_memory()
            torch.cuda.reset_peak_memory_stats(self.device)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self._phase = "encode"
        pos, neg = self.encode(pipe, req, job_id, emit)
        timings["encode"] = time.perf_counter() - t0
        if cancel.cancelled:
            raise _CancelledError
        extra: dict[str, Any] = {}
        if req.finalize is not None and req.finalize.method == REFINE:
            image, extra["finalize"] = refine.render(
                self, pipe, req, (pos, neg), index, job_id, emit, cancel, timings, lambda: _stop_if(cancel)
            )
        else:
            t1 = time.perf_counter()
            self._phase = "denoise"
            latents = self.denoise(pipe, req, pos, neg, index, job_id, emit, cancel)
            check_latents(latents)
            timings["denoise"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            self._phase = "decode"
            image = self.decode(pipe, latents)
            timings["decode"] = time.perf_counter() - t2
        self._phase = "save"
        if cancel.cancelled:
            raise _CancelledError
        peak = int(torch.cuda.max_memory_reserved(self.device)) if self.device.type == "cuda" else None
        peak_ram = self._rss.take_peak()
        self.lowvram.record_peak(plan, req, peak, peak_ram, self._model_dir)
        environment = self.environment(strategy)
        card_timings, card_env = health_record(self.lowvram.health())  # temperature, throttling: per image
        timings.update(card_timings)
        environment.update(card_env)
        info = {"strategy": strategy, "oom_retries": retries, "peak_vram_bytes": peak, "peak_ram_bytes": peak_ram}
        info.update(extra)  # a refine: method, source, change and sigmas, upscaler, tile layout
        t3 = time.perf_counter()
        path = self.save(image, req, environment, info)
        timings["save"] = time.perf_counter() - t3
        timings["total"] = time.perf_counter() - t0
        result = ImageResult(
            index=index,
            seed=req.seed,
            path=str(path),
            width=req.width,
            height=req.height,
            timings={k: round(v, 4) for k, v in timings.items()},
            strategy=strategy,
            oom_retries=retries,
            peak_vram_bytes=peak,
            request=req.to_dict(),
            environment={**environment, **extra},  # the history row keeps the refine facts too
            peak_ram_bytes=peak_ram,
        )
        return result, image

    # ------------------------------------------------------------------ phases
    def count_prompt_tokens(self, pipe: Any, prompt: str) -> int:
        templated = pipe.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}],
            tokenize=False,
            add_generation_prompt=True,
            enable_thinking=True,
        )
        return len(pipe.tokenizer(templated, truncation=False).input_ids)

    def encode(
        self, pipe: Any, req: GenerationRequest, job_id: str, emit: EventCallback
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        key = cache_key(req.prompt, req.negative_prompt, self._encoder_id, MAX_SEQUENCE_LENGTH, req.uses_cfg)
        exec_device = pipe._execution_device
        cached = self._embed_cache.get(key, exec_device)
        if cached is not None:
            return cached
        for text in (req.prompt, req.negative_prompt if req.uses_cfg else ""):
            if text:
                warning = prompt_token_warning(self.count_prompt_tokens(pipe, text), MAX_SEQUENCE_LENGTH)
                if warning:
                    emit(Notice(job_id, "prompt-truncated", warning))
        spec = self._spec
        if spec is not None:
            strategies.unpark_text_encoder(pipe, spec, self.device)
        te_device = strategies.text_encoder_device(pipe)
        with torch.no_grad():
            pos, neg = pipe.encode_prompt(
                prompt=req.prompt,
                device=te_device,
                do_classifier_free_guidance=req.uses_cfg,
                negative_prompt=req.negative_prompt if req.uses_cfg else None,
                max_sequence_length=MAX_SEQUENCE_LENGTH,
            )
        self._embed_cache.put(key, pos, neg)
        if te_device != torch.device(exec_device):
            pos = [t.to(exec_device) for t in pos]
            neg = [t.to(exec_device) for t in neg]
        if spec is not None and self.lowvram.tight(self._plan) and strategies.park_text_encoder(pipe, spec):
            self.free_memory()
        return pos, neg

    def denoise(
        self,
        pipe: Any,
        req: GenerationRequest,
        pos: list[torch.Tensor],
        neg: list[torch.Tensor],
        index: int,
        job_id: str,
        emit: EventCallback,
        cancel: CancelToken,
        *,
        size: tuple[int, int] | None = None,
        progress: tuple[int, int, float] | None = None,
        **call: Any,
    ) -> torch.Tensor:
        """Denoise to latents. ``size``: (width, height) of this call (default the request's);
        ``progress``: (steps already done, steps in all, ``perf_counter`` when the first began) when one
        image takes several calls (refine tiles: elapsed and ETA then span them all); ``call``: more
        pipeline arguments (an image-to-image pipeline's image, sigmas)."""
        before, steps, start = progress or (0, req.steps, time.perf_counter())
        width, height = size or (req.width, req.height)
        self._sysmem.reset()
        last = [time.perf_counter()]
        watch = self.device.type == "cuda"

        def on_step(_pipe: Any, i: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            done = before + i + 1
            now = time.perf_counter()
            elapsed = now - start
            if watch and self._sysmem.observe(now - last[0]):
                emit(Notice(job_id, "sysmem-fallback", SYSMEM_ADVICE))
            last[0] = now
            eta = elapsed / done * (steps - done)
            emit(Step(job_id, index, done, steps, elapsed, eta))
            if cancel.cancelled:
                raise _CancelledError
            if done < steps and done % self.preview_every == 0:
                w, h, rgb = latents_to_rgb(kwargs["latents"])
                emit(Preview(job_id, index, done, w, h, rgb))
            return {}

        generator = torch.Generator("cpu").manual_seed(req.seed)
        out = pipe(
            prompt_embeds=pos,
            negative_prompt_embeds=neg,
            height=height,
            width=width,
            num_inference_steps=req.steps,
            guidance_scale=float(req.guidance),
            generator=generator,
            output_type="latent",
            callback_on_step_end=on_step,
            callback_on_step_end_tensor_inputs=["latents"],
            max_sequence_length=MAX_SEQUENCE_LENGTH,
            **call,
        )
        latents: torch.Tensor = out.images
        return latents

    def decode(self, pipe: Any, latents: torch.Tensor) -> Any:
        """Decode exactly as ZImagePipeline does (scaling + shift, VAE, postprocess to PIL)."""
        vae = pipe.vae
        with torch.no_grad():
            # the execution device, not vae.device: under model offload the VAE's weights sit on the CPU
            # until its hook moves them, and the hook does not move the input
            lat = latents.to(device=pipe._execution_device, dtype=vae.dtype)
            lat = (lat / vae.config.scaling_factor) + vae.config.shift_factor
            image = vae.decode(lat, return_dict=False)[0]
            pil = pipe.image_processor.postprocess(image, output_type="pil")[0]
        pipe.maybe_free_model_hooks()
        return pil

    def save(self, image: Any, req: GenerationRequest, environment: dict[str, Any], info: dict[str, Any]) -> Path:
        from zit_desktop.core.metadata.write import png_text_chunks, unique_output_path, write_png_atomic

        path = unique_output_path(self.paths.outputs, datetime.now(), req.seed)
        return write_png_atomic(image, path, png_text_chunks(req, environment, info))



def _stop_if(cancel: CancelToken) -> None:
    if cancel.cancelled:
        raise _CancelledError


__all__ = ["Engine", "is_oom"]
