"""Local models through transformers: batched, sorted by length, left padding, bf16 on GPU.

``model`` is a folder (or Hub id) of a causal LM, a folder holding one ``.gguf`` file (or the
``.gguf`` path itself), or a PEFT adapter folder (``adapter_config.json``; its base model is
loaded first). Nothing runs remote code unless ``trust_remote_code=True``.

Speed: one forward pass per distinct context, logits computed only where they are read
(``logits_to_keep``, or the LM head applied to the last hidden state only), batches of
length-sorted sequences cut by a token budget (2048 on CPU, where larger batches cost more per
token) and, for scoring, before padding exceeds 10% of a batch; explicit ``position_ids`` make a
padded row score exactly as it would alone. Letter scoring runs the head its prompts share (system
prompt, chat markup, instruction) once per group and reuses its key/value cache in every batch;
log-likelihood does the same with the contexts' shared head, then packs each context and all its
continuations (a cloze item's options) into ONE row whose 4D attention mask keeps the continuations
apart: every token of the requests runs once, and no cache is copied per continuation.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from globmed.bench.backends.base import Backend, Prompt
from globmed.bench.tokens import common_prefix, split_pair
from globmed.errors import GlobmedError
from globmed.model_paths import convert_gguf, gguf_cache_dir, local_model, resolve_model_path  # noqa: F401

log = logging.getLogger(__name__)


PREFIX_SHARING_ARCHS = frozenset({"llama", "mistral", "qwen2", "qwen3", "qwen3_moe", "phi3", "olmo2", "smollm3"})
"""Architectures whose logits are exactly ``lm_head(decoder(...).last_hidden_state)`` (no soft-capping
or scaling in the causal-LM head), so the shared-prefix path below computes the same numbers."""
MIN_SHARED_PREFIX = 8
CPU_TOKEN_BUDGET = 2048
"""Default padded tokens per batch on CPU: beyond about 2k tokens the activations of a layer leave the
caches and every token costs more (SmolLM2-135M on 2 cores: about 20% more per token at 8k)."""
MAX_PADDING = 0.1
"""Letter and cloze batches are cut before their padding exceeds this share of their tokens."""


class TransformersBackend(Backend):
    name = "transformers"

    def __init__(self, model: str | Path, *, tokenizer: str | Path | None = None, device: str | None = None,
                 dtype: str | None = None, trust_remote_code: bool = False, token_budget: int | None = None,
                 max_batch: int = 64, chat: bool | None = None, **_: Any):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = getattr(torch, dtype) if dtype else (torch.bfloat16 if self.device == "cuda" else torch.float32)
        adapter = Path(model) / "adapter_config.json"
        base, kwargs = (None, {})
        if adapter.is_file():
            base = json.loads(adapter.read_text())["base_model_name_or_path"]
            load_path, kwargs = resolve_model_path(base)
        else:
            load_path, kwargs = resolve_model_path(model)
        if "gguf_file" in kwargs:
            load_path, kwargs = str(convert_gguf(load_path, kwargs["gguf_file"], trust_remote_code)), {}
        tok_path, tok_kwargs = (str(tokenizer), {}) if tokenizer else (
            (str(model), {}) if adapter.is_file() and (Path(model) / "tokenizer_config.json").exists()
            else (load_path, kwargs))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tok_path, trust_remote_code=trust_remote_code, **tok_kwargs)
            net = AutoModelForCausalLM.from_pretrained(load_path, dtype=torch_dtype,
                                                       trust_remote_code=trust_remote_code, **kwargs)
            if base is not None:
                from peft import PeftModel

                net = PeftModel.from_pretrained(net, str(model))
        except (OSError, ValueError) as exc:
            raise GlobmedError(f"cannot load model {model}: {exc}") from exc
        self.model = net.to(self.device).eval()
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id or 0
        self.chat = bool(getattr(self.tokenizer, "chat_template", None)) if chat is None else chat
        self.token_budget = token_budget or (CPU_TOKEN_BUDGET if self.device == "cpu" else 8192)
        self.max_batch = max_batch
        self.name = f"transformers:{model}"
        self._lead: list[int] | None = None

    # -- helpers -------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` as the tokenizer itself would begin them: its leading special tokens
        (Llama-style tokenizers add a BOS; Qwen's add none) unless the text already starts with them
        (a rendered chat template carries its own BOS: never doubled), and never a trailing EOS.
        This is lm-evaluation-harness's documented default (``add_bos_token=None``: the tokenizer's
        own behaviour, no duplicate BOS), so plain prompts match ``tokenizer(prompt)`` for base models."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        lead = self.leading_special
        return ids if not lead or ids[: len(lead)] == lead else [*lead, *ids]

    @property
    def leading_special(self) -> list[int]:
        """The special tokens the tokenizer puts before a text (``[bos]`` or ``[]``)."""
        if self._lead is None:
            bare = self.tokenizer("a", add_special_tokens=False)["input_ids"]
            full = self.tokenizer("a")["input_ids"]
            at = next((i for i in range(len(full) - len(bare) + 1) if full[i: i + len(bare)] == bare), 0)
            self._lead = list(full[:at])
        return self._lead

    def _batches(self, seqs: Sequence[Sequence[int]], max_padding: float | None = None) -> list[list[int]]:
        """Indices of ``seqs`` grouped into length-sorted batches under the token budget (padded
        tokens); with ``max_padding``, a batch is also cut before its padding would exceed that share
        of its tokens."""
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]), reverse=True)
        batches: list[list[int]] = []
        cur: list[int] = []
        width = real = 0  # longest row of the batch (its first), real tokens in it
        for i in order:
            n = len(seqs[i])
            if cur:
                padded = width * (len(cur) + 1)
                if (padded > self.token_budget or len(cur) >= self.max_batch
                        or (max_padding is not None and padded - real - n > max_padding * padded)):
                    batches.append(cur)
                    cur = []
            if not cur:
                width, real = n, 0
            cur.append(i)
            real += n
        if cur:
            batches.append(cur)
        return batches

    def _forward(self, seqs: list[list[int]], keep: int):
        """Log-softmax of the last ``keep`` positions of each left-padded sequence: [B, keep, V]."""
        torch = self.torch
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, width - len(s):] = torch.tensor(s, dtype=torch.long)
            mask[r, width - len(s):] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                             position_ids=pos.to(self.device), logits_to_keep=keep, use_cache=False)
        return torch.log_softmax(out.logits[:, -keep:, :].float(), dim=-1).cpu()

    def _prefix_sharing(self) -> bool:
        return (getattr(self.model.config, "model_type", None) in PREFIX_SHARING_ARCHS
                and hasattr(self.model, "get_decoder") and self.model.get_output_embeddings() is not None)

    def _head_groups(self, seqs: Sequence[list[int]]) -> list[tuple[int, list[int]]]:
        """``seqs`` grouped by a shared head: [(head length, indices)], head >= MIN_SHARED_PREFIX.

        In lexicographic order, the common prefix of a set of sequences is the minimum of the common
        prefixes of neighbours; a neighbour sharing fewer than MIN_SHARED_PREFIX tokens starts a new
        group (prompts of one language share their system prompt and instruction; prompts of two
        languages do not). Every row keeps at least its last token out of the head. Sequences in no
        such group come back as groups of head length 0.
        """
        order = sorted(range(len(seqs)), key=lambda i: seqs[i])
        runs: list[tuple[int, list[int]]] = []
        for prev, i in zip([None, *order], order, strict=False):
            shared = 0 if prev is None else common_prefix(seqs[prev], seqs[i])
            if shared >= MIN_SHARED_PREFIX:
                head, members = runs[-1]
                runs[-1] = (min(head, shared), [*members, i])
            else:
                runs.append((len(seqs[i]), [i]))
        out: list[tuple[int, list[int]]] = []
        alone: list[int] = []
        for head, members in runs:
            head = min(head, min(len(seqs[i]) for i in members) - 1)
            if len(members) > 1 and head >= MIN_SHARED_PREFIX:
                out.append((head, members))
            else:
                alone += members
        if alone:
            out.append((0, alone))
        return out

    def _last_logprobs(self, seqs: list[list[int]], progress: bool = False) -> list[Any]:
        """Log-softmax of the next token after each sequence: one [V] tensor per sequence.

        Prompts of one benchmark language share a long head (system prompt, chat markup,
        instruction). Each group's head is run ONCE, and its key/value cache reused by every batch of
        the group; a batch holds only the rows' own suffixes, length-sorted and right-padded (no
        attention mask is needed: causal attention never reaches the padding after a row's last
        token), batches cut by ``token_budget`` padded suffix tokens so that padding stays small, and
        the LM head is applied only at each row's last real token. Sequences without such a head
        (or models whose logits are not ``lm_head(decoder(...))``) take the plain left-padded path.
        """
        torch = self.torch
        share = self._prefix_sharing()
        groups = self._head_groups(seqs) if share else [(0, list(range(len(seqs))))]
        plan = [(head, [[members[b] for b in batch]
                        for batch in self._batches([seqs[i][head:] for i in members], MAX_PADDING)])
                for head, members in groups]
        out: list[Any] = [None] * len(seqs)
        bar = tqdm(total=sum(len(batches) for _, batches in plan), desc="letter scores", disable=not progress,
                   leave=False)
        for head, batches in plan:
            if head == 0:
                for batch in batches:
                    logp = self._forward([seqs[i] for i in batch], keep=1)[:, -1]
                    for r, i in enumerate(batch):
                        out[i] = logp[r]
                    bar.update()
                continue
            decoder, lm_head = self.model.get_decoder(), self.model.get_output_embeddings()
            # transformers 5 names the cache argument and output ``cache`` (``past_key_values`` before)
            cache_arg = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"
            with torch.inference_mode():
                head_out = decoder(input_ids=torch.tensor([seqs[batches[0][0]][:head]], device=self.device),
                                   use_cache=True)
                head_cache = getattr(head_out, cache_arg)
                for batch in batches:
                    cache = copy.deepcopy(head_cache)
                    cache.batch_repeat_interleave(len(batch))
                    suffixes = [seqs[i][head:] for i in batch]
                    width = max(len(x) for x in suffixes)
                    ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
                    for r, x in enumerate(suffixes):
                        ids[r, : len(x)] = torch.tensor(x, dtype=torch.long)
                    pos = torch.arange(head, head + width).expand(len(batch), -1)
                    hidden = decoder(input_ids=ids.to(self.device), position_ids=pos.to(self.device),
                                     use_cache=True, **{cache_arg: cache}).last_hidden_state
                    last = hidden[torch.arange(len(batch)), torch.tensor([len(x) - 1 for x in suffixes])]
                    logp = torch.log_softmax(lm_head(last).float(), dim=-1).cpu()
                    for r, i in enumerate(batch):
                        out[i] = logp[r]
                    bar.update()
        bar.close()
        return out

    # -- interface ----------------------------------------------------------------------
    def next_token_scores(self, prompts: Sequence[str], candidates: Sequence[Sequence[str]],
                          progress: bool = False) -> list[list[float]]:
        contexts: dict[tuple[int, ...], int] = {}
        reads: list[list[tuple[int, int]]] = []  # per prompt, per candidate: (context index, token id)
        for prompt, cands in zip(prompts, candidates, strict=True):
            p_ids = self.encode(prompt)
            row = []
            for cand in cands:
                ctx, cont = split_pair(p_ids, self.encode(prompt + cand))
                key = tuple(ctx)
                row.append((contexts.setdefault(key, len(contexts)), cont[0]))
            tokens = [t for _, t in row]
            if len(set(tokens)) != len(tokens):
                raise GlobmedError(f"candidates {list(cands)} share a first token after the prompt; "
                                   "letter scoring cannot tell them apart")
            reads.append(row)
        last = self._last_logprobs([list(k) for k in contexts], progress=progress)
        return [[float(last[c][t]) for c, t in row] for row in reads]

    def loglik(self, requests: Sequence[tuple[str, str]], progress: bool = False) -> list[float]:
        pairs = []
        for ctx, cont in requests:
            c_ids, t_ids = split_pair(self.encode(ctx), self.encode(ctx + cont))
            if not c_ids:
                c_ids = [self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.pad_id]
            pairs.append((c_ids, t_ids))
        if self._packing(max((len(c) + len(t) for c, t in pairs), default=0)):
            return self._loglik_packed(pairs, progress)
        out = [0.0] * len(pairs)
        seqs = [(c + t)[:-1] for c, t in pairs]
        for batch in tqdm(self._batches(seqs, MAX_PADDING), desc="cloze log-likelihood",
                          disable=not progress or not seqs, leave=False):
            keep = max(len(pairs[i][1]) for i in batch)
            logp = self._forward([seqs[i] for i in batch], keep=keep)
            for r, i in enumerate(batch):
                cont = pairs[i][1]
                rows = logp[r, keep - len(cont):]
                out[i] = float(rows.gather(-1, self.torch.tensor(cont).unsqueeze(-1)).sum())
        return out

    def _packing(self, longest: int) -> bool:
        """Whether log-likelihoods may take the packed path: logits are ``lm_head(decoder(...))``, the
        attention takes a custom 4D mask (sdpa, eager), and no sliding window is shorter than a request."""
        config = self.model.config
        window = getattr(config, "sliding_window", None)
        return (self._prefix_sharing() and getattr(config, "_attn_implementation", None) in ("sdpa", "eager")
                and not (isinstance(window, int) and longest > window))

    def _loglik_packed(self, pairs: list[tuple[list[int], list[int]]], progress: bool) -> list[float]:
        """Log-likelihoods with every token of the requests run once (the cloze fast path).

        The contexts of one benchmark language share a head (system prompt, chat markup,
        instruction): it runs ONCE per group and its key/value cache is reused in every batch (as in
        letter scoring). A context shared by several continuations (a cloze item's options) is one
        row: its tokens after the head, then each continuation but its last token, side by side; a 4D
        attention mask lets each continuation see the head, the context and its own earlier tokens
        only, and explicit positions place every continuation right after the context, so each reads
        exactly what it would read alone. Rows are length-sorted into batches cut by the token budget
        and padding share; the LM head is applied only where a continuation token is read, once per
        position. Identical requests (same context and continuation) are computed once, as lm-eval does."""
        torch = self.torch
        by_ctx: dict[tuple[int, ...], dict[tuple[int, ...], list[int]]] = {}
        for i, (c, t) in enumerate(pairs):
            by_ctx.setdefault(tuple(c), {}).setdefault(tuple(t), []).append(i)
        ctxs = [list(c) for c in by_ctx]
        members = list(by_ctx.values())
        out = [0.0] * len(pairs)
        decoder, lm_head = self.model.get_decoder(), self.model.get_output_embeddings()
        cache_arg = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"
        plan = []
        for head, group in self._head_groups(ctxs):
            rows = [self._packed_row(ctxs[g], head, members[g]) for g in group]
            plan.append((head, ctxs[group[0]][:head], rows, self._batches([r[0] for r in rows], MAX_PADDING)))
        bar = tqdm(total=sum(len(p[3]) for p in plan), desc="cloze log-likelihood", disable=not progress, leave=False)
        with torch.inference_mode():
            for head, head_ids, rows, batches in plan:
                head_cache = getattr(decoder(input_ids=torch.tensor([head_ids], device=self.device), use_cache=True),
                                     cache_arg) if head else None
                for batch in batches:
                    kwargs: dict[str, Any] = {"use_cache": False}
                    if head_cache is not None:
                        cache = copy.deepcopy(head_cache)
                        cache.batch_repeat_interleave(len(batch))
                        kwargs = {"use_cache": True, cache_arg: cache}
                    ids, pos, mask = self._packed_batch([rows[b] for b in batch], head)
                    hidden = decoder(input_ids=ids.to(self.device), position_ids=pos.to(self.device),
                                     attention_mask=mask.to(self.device), **kwargs).last_hidden_state
                    # the options' first tokens are all read at the context's last position: its
                    # log-softmax over the vocabulary is computed once
                    where: dict[tuple[int, int], int] = {}
                    reads = [(where.setdefault((r, at), len(where)), tok, who)
                             for r, b in enumerate(batch) for at, tok, who in rows[b][3]]
                    picked = hidden[torch.tensor([r for r, _ in where]), torch.tensor([at for _, at in where])]
                    u, tok = (torch.tensor([x[k] for x in reads], device=self.device) for k in (0, 1))
                    lls = torch.empty(len(reads), device=self.device)
                    for a in range(0, len(where), 512):  # [512, vocab] log-probabilities at a time
                        logp = torch.log_softmax(lm_head(picked[a: a + 512]).float(), dim=-1)
                        sel = (u >= a) & (u < a + 512)
                        lls[sel] = logp[u[sel] - a, tok[sel]]
                    for (_, _, who), v in zip(reads, lls.cpu().tolist(), strict=True):
                        for i in who:
                            out[i] += v
                    bar.update()
        bar.close()
        return out

    @staticmethod
    def _packed_row(ctx: list[int], head: int, conts: dict[tuple[int, ...], list[int]]
                    ) -> tuple[list[int], list[int], list[int], list[tuple[int, int, list[int]]]]:
        """(tokens, positions, segments, reads) of one packed row: ``ctx`` after its ``head`` (segment
        0), then each continuation but its last token (segment k + 1) at the positions after ``ctx``;
        ``conts`` maps each continuation to the requests asking for it; reads are (row index whose
        output predicts the token, token, request ids)."""
        toks, pos = ctx[head:], list(range(head, len(ctx)))
        seg = [0] * len(toks)
        reads = []
        for k, (cont, ids) in enumerate(conts.items()):
            start = len(toks)
            reads += [(len(ctx) - head - 1 if j == 0 else start + j - 1, t, ids) for j, t in enumerate(cont)]
            toks += cont[:-1]
            pos += range(len(ctx), len(ctx) + len(cont) - 1)
            seg += [k + 1] * (len(cont) - 1)
        return toks, pos, seg, reads

    def _packed_batch(self, rows: list[tuple], head: int) -> tuple[Any, Any, Any]:
        """Right-padded ids and positions [B, W] and the additive 4D mask [B, 1, W, head + W] of packed
        rows: a token sees the head, and, causally, its row's context and its own segment."""
        torch = self.torch
        width = max(len(r[0]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        pos = torch.zeros((len(rows), width), dtype=torch.long)
        seg = torch.full((len(rows), width), -1, dtype=torch.long)
        for r, (toks, p, s, _) in enumerate(rows):
            ids[r, : len(toks)] = torch.tensor(toks, dtype=torch.long)
            pos[r, : len(toks)] = torch.tensor(p, dtype=torch.long)
            seg[r, : len(toks)] = torch.tensor(s, dtype=torch.long)
        q, k = seg.unsqueeze(2), seg.unsqueeze(1)
        see = ((k == 0) | (k == q)) & (k >= 0) & torch.ones(width, width, dtype=torch.bool).tril()
        see |= torch.eye(width, dtype=torch.bool)  # padding rows see themselves: no row is all masked
        see = torch.cat([torch.ones((len(rows), width, head), dtype=torch.bool), see], dim=2)
        dtype = self.model.dtype
        mask = torch.zeros(see.shape, dtype=dtype).masked_fill_(~see, torch.finfo(dtype).min)
        return ids, pos, mask.unsqueeze(1)

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, progress: bool = False) -> list[str]:
        torch = self.torch
        texts = [p if isinstance(p, str) else self.tokenizer.apply_chat_template(
            p, add_generation_prompt=True, tokenize=False) for p in prompts]
        seqs = [self.encode(t) for t in texts]
        out = [""] * len(seqs)
        for batch in tqdm(self._batches(seqs), desc="generate", disable=not progress, leave=False):
            width = max(len(seqs[i]) for i in batch)
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, i in enumerate(batch):
                ids[r, width - len(seqs[i]):] = torch.tensor(seqs[i])
                mask[r, width - len(seqs[i]):] = 1
            with torch.inference_mode():
                gen = self.model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                          max_new_tokens=max_new_tokens, do_sample=False,
                                          pad_token_id=self.pad_id)
            for r, i in enumerate(batch):
                out[i] = self.tokenizer.decode(gen[r, width:], skip_special_tokens=True)
        return out
