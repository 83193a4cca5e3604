"""A small decoder-only transformer language model in plain torch (pre-LN, learned positions)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position sees only itself and earlier positions.

    ``head_dim`` is the size of one head, so the projections map ``hidden_dim`` to
    ``heads * head_dim`` and back. ``dropout`` applies to the attention weights.
    """

    def __init__(self, hidden_dim: int, heads: int, head_dim: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = head_dim
        self.qkv = nn.Linear(hidden_dim, 3 * heads * head_dim)
        self.out = nn.Linear(heads * head_dim, hidden_dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, self.head_dim).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (batch, heads, length, head_dim)
        mixed = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(mixed.transpose(1, 2).reshape(batch, length, -1))


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(
        self,
        hidden_dim: int,
        heads: int,
        head_dim: int,
        intermediate_dim: int,
        attn_dropout: float,
        resid_dropout: float,
    ) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(hidden_dim)
        self.attn = CausalSelfAttention(hidden_dim, heads, head_dim, attn_dropout)
        self.ln2 = nn.LayerNorm(hidden_dim)
        self.mlp = nn.Sequential(
            nn.Linear(hidden_dim, intermediate_dim),
            nn.GELU(),
            nn.Linear(intermediate_dim, hidden_dim),
        )
        self.drop = nn.Dropout(resid_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x)))
        return x + self.drop(self.mlp(self.ln2(x)))


class LMModel(nn.Module):
    """Next-token model over a fixed vocabulary (256 bytes for the demo's tokenizer)."""

    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        heads: int,
        hidden_dim: int,
        head_dim: int,
        intermediate_dim: int,
        num_blocks: int,
        attn_dropout: float,
        resid_dropout: float,
    ) -> None:
        super().__init__()
        self.max_len = max_len
        self.tok_emb = nn.Embedding(vocab_size, hidden_dim)
        self.pos_emb = nn.Embedding(max_len, hidden_dim)
        self.drop = nn.Dropout(resid_dropout)
        self.blocks = nn.ModuleList(
            Block(hidden_dim, heads, head_dim, intermediate_dim, attn_dropout, resid_dropout)
            for _ in range(num_blocks)
        )
        self.ln_f = nn.LayerNorm(hidden_dim)
        self.head = nn.Linear(hidden_dim, vocab_size, bias=False)
        self.apply(_init_weights)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, length, vocab) for int tokens of shape (batch, length)."""
        length = tokens.shape[1]
        if length > self.max_len:
            raise ValueError(f"sequence of {length} tokens is longer than max_len={self.max_len}")
        positions = torch.arange(length, device=tokens.device)
        x = self.drop(self.tok_emb(tokens) + self.pos_emb(positions))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def get_loss(self, tokens: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean next-token cross-entropy over ``tokens``, and logs: the loss, bits per byte
        (the tokens are bytes, so bits per token) and ``tokens``, how many tokens this batch
        predicted (the training loop logs their running total, the tokens seen so far)."""
        logits = self(tokens[:, :-1])
        targets = tokens[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        value = loss.item()
        logs = {"loss": value, "bits_per_byte": value / math.log(2), "tokens": targets.numel()}
        return loss, logs


def _init_weights(module: nn.Module) -> None:
    # GPT-2 style: small normal weights help a short run learn quickly.
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
