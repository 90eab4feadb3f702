"""The text of "The Transformer, Explained": a primer written for this project (CC0).

The demo's retrieval part and the file_search tests read it as a PDF that
``scripts/primer.py`` lays out with pypdf (nothing is downloaded, nothing outside the
repository is needed). Each page is a list of blocks: ``("title", text)``, ``("h", text)``,
``("p", text)`` or ``("table", rows)``, the first row of a table being its header.
``QUESTIONS`` pairs questions with the pages that answer them (the retrieval benchmark's
recall set, and the facts the tests ask for).
"""

from __future__ import annotations

Block = tuple[str, object]

TITLE = "The Transformer, Explained: A Primer on Attention"
FILE_NAME = "transformer-primer.pdf"

PAGES: list[list[Block]] = [
    [
        ("title", TITLE),
        (
            "p",
            "A primer written for the offline-assistants project. Dedicated to the public "
            "domain (CC0 1.0). It retells, in its own words, the model described in the "
            '2017 paper "Attention Is All You Need" by Vaswani and colleagues.',
        ),
        ("h", "Abstract"),
        (
            "p",
            "Sequence transduction models turn one sequence into another: a sentence in "
            "English into a sentence in German, a question into an answer. For years the "
            "best of them were recurrent or convolutional networks joined by an attention "
            "mechanism. The Transformer drops recurrence and convolution altogether and "
            "relies on attention alone. Because nothing in it has to wait for the previous "
            "position, it trains in parallel and much faster. On the WMT 2014 English-to-"
            "German translation task the big Transformer reached 28.4 BLEU, more than 2 "
            "BLEU above the best earlier results, ensembles included. On English-to-French "
            "it set a single-model state of the art of 41.8 BLEU after 3.5 days of "
            "training on eight GPUs, a small fraction of the training cost of the models "
            "before it.",
        ),
        ("h", "1 Introduction"),
        (
            "p",
            "Recurrent neural networks, long short-term memory networks and gated "
            "recurrent units read a sequence one symbol at a time. Each hidden state "
            "depends on the one before it, so the computation along a sequence cannot be "
            "split across processors. Long sentences make this worse, because memory "
            "limits how many examples fit in a batch. Factorisation tricks and conditional "
            "computation have improved the speed of recurrent models, but the sequential "
            "constraint remains.",
        ),
        (
            "p",
            "Attention mechanisms let a model relate positions regardless of how far apart "
            "they are. Until the Transformer they were used together with a recurrent "
            "network. The Transformer is the first transduction model built on attention "
            "alone: it draws global dependencies between input and output with attention "
            "and can be parallelised far more. It reached a new state of the art in "
            "translation quality after as little as twelve hours of training on eight "
            "P100 GPUs.",
        ),
    ],
    [
        ("h", "2 Background"),
        (
            "p",
            "Reducing sequential computation was also the goal of the Extended Neural GPU, "
            "ByteNet and ConvS2S. These convolutional models compute hidden "
            "representations for all positions in parallel. The number of operations "
            "needed to relate two positions still grows with their distance: linearly for "
            "ConvS2S and logarithmically for ByteNet. Learning dependencies between "
            "distant positions is therefore harder. In the Transformer the number of "
            "operations is constant, at the cost of averaging attention-weighted "
            "positions, which multi-head attention counteracts.",
        ),
        (
            "p",
            "Self-attention, sometimes called intra-attention, is an attention mechanism "
            "that relates different positions of a single sequence in order to compute a "
            "representation of that sequence. It had been used for reading comprehension, "
            "abstractive summarisation, textual entailment and learning task-independent "
            "sentence representations. End-to-end memory networks use a recurrent "
            "attention mechanism instead of a sequence-aligned recurrence and do well on "
            "simple-language question answering.",
        ),
        (
            "p",
            "The Transformer is the first transduction model that computes the "
            "representations of its input and output with self-attention only, without "
            "sequence-aligned recurrent networks or convolution.",
        ),
        ("h", "A word on terms"),
        (
            "p",
            "A token is a piece of text: a word, part of a word or a punctuation mark. A "
            "vector of numbers stands for each token; the model's width, d_model, is the "
            "length of those vectors. A layer is one block of computation that every "
            "position passes through. BLEU is a score between 0 and 100 that counts how "
            "many word sequences of a machine translation also appear in reference "
            "translations made by people; higher is better.",
        ),
    ],
    [
        ("h", "3 Model Architecture"),
        (
            "p",
            "Like most competitive transduction models, the Transformer has an encoder and "
            "a decoder. The encoder maps an input sequence of symbols to a sequence of "
            "continuous representations. Given those, the decoder produces the output "
            "sequence one symbol at a time. It is auto-regressive: each symbol it has "
            "already produced is part of its input for the next one.",
        ),
        ("h", "3.1 Encoder and decoder stacks"),
        (
            "p",
            "Encoder. The encoder is a stack of N = 6 identical layers. Each layer has two "
            "sub-layers: a multi-head self-attention mechanism, and a simple, position-wise "
            "fully connected feed-forward network. Around each of the two sub-layers sits "
            "a residual connection, followed by layer normalisation, so the output of each "
            "sub-layer is LayerNorm(x + Sublayer(x)). To make the residual connections "
            "possible, all sub-layers and the embedding layers produce outputs of "
            "dimension d_model = 512.",
        ),
        (
            "p",
            "Decoder. The decoder is also a stack of N = 6 identical layers. Besides the "
            "two sub-layers of an encoder layer, each decoder layer has a third sub-layer "
            "that performs multi-head attention over the output of the encoder stack. "
            "Residual connections and layer normalisation surround every sub-layer here "
            "too. The self-attention sub-layer of the decoder is masked: masking prevents "
            "a position from attending to subsequent positions. Together with the output "
            "embeddings being offset by one position, this makes sure that the prediction "
            "for position i can depend only on the known outputs at positions before i.",
        ),
    ],
    [
        ("h", "3.2 Scaled dot-product attention"),
        (
            "p",
            "An attention function maps a query and a set of key-value pairs to an output. "
            "Queries, keys, values and outputs are all vectors. The output is a weighted "
            "sum of the values, where the weight of each value comes from a compatibility "
            "function of the query with the corresponding key.",
        ),
        (
            "p",
            "The Transformer's attention is called scaled dot-product attention. The input "
            "consists of queries and keys of dimension d_k and values of dimension d_v. "
            "For each query, compute the dot products with all keys, divide each by the "
            "square root of d_k, and apply a softmax to obtain the weights on the values. "
            "In practice the queries are packed together into a matrix Q, and the keys and "
            "values into matrices K and V, and the outputs are computed at once as "
            "Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V.",
        ),
        (
            "p",
            "The two most common attention functions are additive attention and dot-product "
            "attention. Additive attention computes compatibility with a feed-forward "
            "network that has a single hidden layer. The two are similar in theoretical "
            "complexity, but dot-product attention is much faster and more space-efficient "
            "in practice, because it can be implemented with highly optimised matrix "
            "multiplication code.",
        ),
        (
            "p",
            "Why scale by the square root of d_k? For small values of d_k the two "
            "mechanisms perform alike. For large values of d_k, additive attention "
            "outperforms dot-product attention without scaling. The suspected reason is "
            "that the dot products grow large in magnitude, pushing the softmax into "
            "regions where its gradients are extremely small. If the components of q and "
            "k are independent with mean 0 and variance 1, their dot product has mean 0 "
            "and variance d_k. Dividing by sqrt(d_k) brings the variance back to 1 and "
            "counteracts the effect.",
        ),
    ],
    [
        ("h", "3.3 Multi-head attention"),
        (
            "p",
            "Instead of a single attention function over d_model-dimensional keys, values "
            "and queries, the Transformer projects them h times with different, learned "
            "linear projections to d_k, d_k and d_v dimensions. Attention runs on each "
            "projected version in parallel, giving d_v-dimensional outputs, which are "
            "concatenated and projected once more to give the final values.",
        ),
        (
            "p",
            "Multi-head attention lets the model jointly attend to information from "
            "different representation subspaces at different positions. With a single "
            "attention head, averaging inhibits this. The model uses h = 8 parallel "
            "attention layers, or heads. For each of them d_k = d_v = d_model / h = 64. "
            "Because each head has a reduced dimension, the total computational cost is "
            "similar to that of single-head attention with full dimensionality.",
        ),
        ("h", "Three uses of attention"),
        (
            "p",
            "In encoder-decoder attention layers, the queries come from the previous "
            "decoder layer and the keys and values from the output of the encoder, so "
            "every position in the decoder can attend over all positions of the input "
            "sequence. The encoder's self-attention layers take keys, values and queries "
            "from the same place, the output of the previous encoder layer, and each "
            "position can attend to all positions of that layer. The decoder's "
            "self-attention layers let each position attend to all positions up to and "
            "including itself. Leftward information flow must be prevented to keep the "
            "auto-regressive property: inside scaled dot-product attention, all values of "
            "the softmax input that correspond to illegal connections are masked out by "
            "setting them to minus infinity.",
        ),
    ],
    [
        ("h", "3.4 Position-wise feed-forward networks"),
        (
            "p",
            "Each layer of the encoder and the decoder also holds a fully connected "
            "feed-forward network, applied to each position separately and identically. "
            "It consists of two linear transformations with a ReLU activation in between: "
            "FFN(x) = max(0, x W1 + b1) W2 + b2. The transformations are the same across "
            "positions but differ from layer to layer; another way to see them is as two "
            "convolutions with kernel size 1. The input and output have dimensionality "
            "d_model = 512, and the inner layer has dimensionality d_ff = 2048.",
        ),
        ("h", "Embeddings and softmax"),
        (
            "p",
            "Learned embeddings convert the input and output tokens to vectors of "
            "dimension d_model, and the usual learned linear transformation and softmax "
            "convert the decoder output to predicted next-token probabilities. The same "
            "weight matrix is shared between the two embedding layers and the pre-softmax "
            "linear transformation. In the embedding layers those weights are multiplied "
            "by sqrt(d_model).",
        ),
        ("h", "3.5 Positional encoding"),
        (
            "p",
            "The model contains no recurrence and no convolution, so to use the order of "
            "the sequence it must be told about the relative or absolute position of the "
            "tokens. Positional encodings with the same dimension d_model are added to the "
            "input embeddings at the bottoms of the encoder and decoder stacks. The "
            "Transformer uses sine and cosine functions of different frequencies: "
            "PE(pos, 2i) = sin(pos / 10000^(2i/d_model)) and PE(pos, 2i+1) = cos(pos / "
            "10000^(2i/d_model)). Each dimension of the encoding is a sinusoid, and the "
            "wavelengths form a geometric progression from 2 pi to 10000 times 2 pi. "
            "Learned positional embeddings were tried as well and produced nearly "
            "identical results; the sinusoidal version may let the model extrapolate to "
            "sequences longer than those seen in training.",
        ),
    ],
    [
        ("h", "4 Why Self-Attention"),
        (
            "p",
            "Self-attention layers can be compared with the recurrent and convolutional "
            "layers that map one variable-length sequence of representations to another "
            "of equal length. Three things matter: the total computational complexity per "
            "layer, the amount of computation that can be parallelised (the minimum number "
            "of sequential operations), and the path length between long-range "
            "dependencies in the network. The shorter the paths forward and backward "
            "signals have to travel, the easier it is to learn long-range dependencies.",
        ),
        (
            "p",
            "Table 1 compares the layer types. Here n is the sequence length, d the "
            "representation dimension, k the kernel size of a convolution and r the size "
            "of the neighbourhood in restricted self-attention.",
        ),
        (
            "table",
            [
                ["Layer type", "Complexity per layer", "Sequential ops", "Max path length"],
                ["Self-attention", "O(n^2 * d)", "O(1)", "O(1)"],
                ["Recurrent", "O(n * d^2)", "O(n)", "O(n)"],
                ["Convolutional", "O(k * n * d^2)", "O(1)", "O(log_k(n))"],
                ["Self-attention (restricted)", "O(r * n * d)", "O(1)", "O(n / r)"],
            ],
        ),
        (
            "p",
            "Table 1: complexity per layer, minimum number of sequential operations and "
            "maximum path length for different layer types.",
        ),
        (
            "p",
            "A self-attention layer connects all positions with a constant number of "
            "sequentially executed operations, whereas a recurrent layer needs O(n) "
            "sequential operations. In terms of complexity per layer, self-attention is "
            "faster than a recurrent layer when the sequence length n is smaller than the "
            "representation dimensionality d, which is most often the case for sentence "
            "representations such as word-piece and byte-pair encodings. As a side "
            "benefit, self-attention can yield more interpretable models: individual "
            "attention heads clearly learn to perform different tasks, and many appear to "
            "follow the syntactic and semantic structure of the sentences.",
        ),
    ],
    [
        ("h", "5 Training"),
        ("h", "5.1 Training data and batching"),
        (
            "p",
            "The models were trained on the standard WMT 2014 English-German dataset of "
            "about 4.5 million sentence pairs. Sentences were encoded with byte-pair "
            "encoding, with a shared source-target vocabulary of about 37000 tokens. For "
            "English-French the much larger WMT 2014 English-French dataset of 36 million "
            "sentences was used, with tokens split into a 32000 word-piece vocabulary. "
            "Sentence pairs were batched together by approximate sequence length; each "
            "training batch held about 25000 source tokens and 25000 target tokens.",
        ),
        ("h", "5.2 Hardware and schedule"),
        (
            "p",
            "Training ran on one machine with 8 NVIDIA P100 GPUs. For the base models, "
            "each training step took about 0.4 seconds, and the base models were trained "
            "for a total of 100,000 steps, or 12 hours. For the big models the step time "
            "was 1.0 seconds, and they were trained for 300,000 steps, or 3.5 days.",
        ),
        ("h", "5.3 Optimizer"),
        (
            "p",
            "The Adam optimizer was used with beta1 = 0.9, beta2 = 0.98 and epsilon = "
            "10^-9. The learning rate was varied over training: it increases linearly for "
            "the first warmup_steps training steps and then decreases in proportion to "
            "the inverse square root of the step number, with warmup_steps = 4000.",
        ),
        ("h", "5.4 Regularisation"),
        (
            "p",
            "Residual dropout is applied to the output of each sub-layer before it is "
            "added to the sub-layer input and normalised, and also to the sums of the "
            "embeddings and the positional encodings in both stacks. The base model uses "
            "a dropout rate of P_drop = 0.1. Label smoothing of value epsilon_ls = 0.1 was "
            "employed during training. It hurts perplexity, as the model learns to be "
            "more unsure, but improves accuracy and the BLEU score.",
        ),
    ],
    [
        ("h", "6 Results"),
        ("h", "6.1 Machine translation"),
        (
            "p",
            "On the WMT 2014 English-to-German translation task, the big Transformer "
            "outperforms the best previously reported models, ensembles included, by more "
            "than 2.0 BLEU, establishing a new state-of-the-art BLEU score of 28.4. Even "
            "the base model surpasses all previously published models and ensembles, at a "
            "fraction of their training cost. On the WMT 2014 English-to-French task the "
            "big model achieves a BLEU score of 41.8, better than all previously "
            "published single models, at less than a quarter of the training cost of the "
            "previous state of the art. The big model for English-to-French used a "
            "dropout rate of 0.1 instead of 0.3.",
        ),
        (
            "table",
            [
                ["Model", "BLEU EN-DE", "BLEU EN-FR", "Training cost (FLOPs)"],
                ["ByteNet", "23.75", "-", "-"],
                ["GNMT + RL", "24.6", "39.92", "2.3e19 / 1.4e20"],
                ["ConvS2S", "25.16", "40.46", "9.6e18 / 1.5e20"],
                ["Transformer (base model)", "27.3", "38.1", "3.3e18"],
                ["Transformer (big)", "28.4", "41.8", "2.3e19"],
            ],
        ),
        (
            "p",
            "Table 2: the Transformer reaches better BLEU scores than earlier models on the "
            "English-to-German and English-to-French newstest2014 tests at a fraction of "
            "the training cost.",
        ),
        (
            "p",
            "For the base models, a single model was obtained by averaging the last 5 "
            "checkpoints, written at 10-minute intervals. For the big models the last 20 "
            "checkpoints were averaged. Decoding used beam search with a beam size of 4 "
            "and a length penalty alpha = 0.6. The maximum output length during inference "
            "was set to the input length + 50, terminating early when possible.",
        ),
    ],
    [
        ("h", "6.2 Model variations"),
        (
            "p",
            "To weigh the importance of the Transformer's parts, the base model was varied "
            "in different ways and measured on English-to-German translation on the "
            "development set, newstest2013. Table 3 lists the variations.",
        ),
        (
            "table",
            [
                ["Variation", "Heads h", "d_k", "BLEU (dev)"],
                ["base", "8", "64", "25.8"],
                ["one head", "1", "512", "24.9"],
                ["more heads", "16", "32", "25.8"],
                ["many heads", "32", "16", "25.4"],
                ["smaller keys", "8", "32", "25.1"],
                ["big", "16", "64", "26.4"],
            ],
        ),
        (
            "p",
            "Table 3: variations on the Transformer architecture, with BLEU on the "
            "English-to-German development set.",
        ),
        (
            "p",
            "Varying the number of attention heads, while keeping the amount of "
            "computation constant, shows that single-head attention is 0.9 BLEU worse "
            "than the best setting, and that quality also drops off with too many heads. "
            "Reducing the attention key size d_k hurts model quality, which suggests that "
            "determining compatibility is not easy and that a more sophisticated "
            "compatibility function than the dot product may be beneficial. As expected, "
            "bigger models are better, and dropout is very helpful in avoiding "
            "over-fitting. Replacing the sinusoidal positional encoding with learned "
            "positional embeddings gives nearly identical results.",
        ),
        (
            "table",
            [
                ["Setting", "N", "d_model", "d_ff", "h", "P_drop", "Parameters"],
                ["base", "6", "512", "2048", "8", "0.1", "65 million"],
                ["big", "6", "1024", "4096", "16", "0.3", "213 million"],
            ],
        ),
        ("p", "Table 4: the base and big configurations."),
    ],
    [
        ("h", "6.3 English constituency parsing"),
        (
            "p",
            "To see whether the Transformer generalises to other tasks, it was applied to "
            "English constituency parsing. The output is subject to strong structural "
            "constraints and is significantly longer than the input, and recurrent "
            "sequence-to-sequence models had not reached state-of-the-art results in "
            "small-data regimes.",
        ),
        (
            "p",
            "A 4-layer Transformer with d_model = 1024 was trained on the Wall Street "
            "Journal portion of the Penn Treebank, about 40,000 training sentences. It was "
            "also trained in a semi-supervised setting, using larger corpora of about 17 "
            "million sentences. The vocabulary held 16,000 tokens for the WSJ-only setting "
            "and 32,000 tokens for the semi-supervised one. Trained only on the WSJ "
            "training set, the Transformer reached 91.3 F1 on section 23, better than all "
            "previously reported models except one; semi-supervised, it reached 92.7 F1. "
            "Despite the lack of task-specific tuning the model performs surprisingly "
            "well, and in contrast to recurrent sequence-to-sequence models it outperforms "
            "the BerkeleyParser even when trained only on the 40,000 WSJ sentences.",
        ),
        ("h", "7 Conclusion"),
        (
            "p",
            "The Transformer is the first sequence transduction model based entirely on "
            "attention. It replaces the recurrent layers most commonly used in "
            "encoder-decoder architectures with multi-headed self-attention. For "
            "translation it trains significantly faster than architectures based on "
            "recurrent or convolutional layers, and it set a new state of the art on both "
            "WMT 2014 translation tasks. The authors planned to extend attention-based "
            "models to problems involving input and output modalities other than text, "
            "such as images, audio and video, and to make generation less sequential. "
            "The code used to train and evaluate the original models was published in the "
            "tensor2tensor repository.",
        ),
    ],
    [
        ("h", "Glossary"),
        (
            "p",
            "Attention head: one of the h parallel attention functions of a multi-head "
            "attention layer, each with its own learned projections of queries, keys and "
            "values.",
        ),
        (
            "p",
            "Auto-regressive: producing a sequence one element at a time, each element "
            "depending on those produced before it.",
        ),
        (
            "p",
            "Beam search: a decoding method that keeps the k most probable partial outputs "
            "at every step instead of only the best one; k is the beam size.",
        ),
        (
            "p",
            "Byte-pair encoding: a way to split words into frequent pieces, learned by "
            "merging the most common pairs of symbols again and again.",
        ),
        (
            "p",
            "Checkpoint averaging: averaging the weights saved at the end of training to "
            "obtain a single, slightly better model.",
        ),
        (
            "p",
            "Label smoothing: training against targets that give a little probability to "
            "every wrong token, so that the model is less sure of itself.",
        ),
        (
            "p",
            "Layer normalisation: rescaling the values of each position to mean 0 and "
            "variance 1, followed by a learned gain and bias.",
        ),
        (
            "p",
            "Residual connection: adding a sub-layer's input to its output, so that "
            "signals and gradients can skip the sub-layer.",
        ),
        (
            "p",
            "Softmax: the function that turns a vector of scores into probabilities that "
            "are positive and sum to one.",
        ),
        ("h", "About this document"),
        (
            "p",
            "This primer was written for the offline-assistants project, whose demo and "
            "tests index it with file_search and ask questions about it. It is generated "
            "as a PDF by scripts/primer.py and is dedicated to the public domain under "
            "CC0 1.0. Numbers are those reported in the original paper.",
        ),
    ],
]

# (question, pages that answer it): the retrieval benchmark's recall set.
QUESTIONS: list[tuple[str, tuple[int, ...]]] = [
    ("How many identical layers are in the encoder stack?", (3,)),
    ("What is the dimensionality d_model of the model's sub-layer outputs?", (3,)),
    ("How is scaled dot-product attention computed from queries, keys and values?", (4,)),
    ("Why are the dot products scaled by the square root of d_k?", (4,)),
    ("How many parallel attention heads are used and what is d_k for each?", (5,)),
    ("What is the inner-layer dimensionality of the position-wise feed-forward network?", (6,)),
    ("Is the embedding weight matrix shared with the pre-softmax linear transformation?", (6,)),
    ("Which functions are used for the positional encodings?", (6,)),
    ("What is the complexity per layer of self-attention compared to recurrent layers?", (7,)),
    ("How many sentence pairs are in the WMT 2014 English-German training data?", (8,)),
    ("How large is the byte-pair encoding vocabulary?", (8,)),
    ("On what hardware were the models trained?", (8, 1)),
    ("How long did it take to train the base models?", (8, 1)),
    ("Which optimizer was used and with what beta values?", (8,)),
    ("How many warmup steps does the learning rate schedule use?", (8,)),
    ("What residual dropout rate was used for the base model?", (8, 10)),
    ("What value of label smoothing was used during training?", (8,)),
    ("What BLEU score did the big Transformer reach on English-to-German?", (9, 1)),
    ("What BLEU score was achieved on the English-to-French translation task?", (9, 1)),
    ("What beam size and length penalty were used for decoding?", (9,)),
    ("How many checkpoints were averaged for the big models?", (9,)),
    ("How does the number of attention heads affect translation quality?", (10,)),
    ("How well does the Transformer do on English constituency parsing?", (11,)),
    ("How many Wall Street Journal training sentences were used for parsing?", (11,)),
    ("Which convolutional models also try to reduce sequential computation?", (2,)),
    ("What is self-attention, also called intra-attention?", (2,)),
    ("Where is the code used to train and evaluate the models available?", (11,)),
    ("What does masking in the decoder's self-attention prevent?", (3, 5)),
]
