"""The paper's numbers, each with where it is printed: the one source the book quotes them from.

Krizhevsky, Sutskever and Hinton, *ImageNet Classification with Deep Convolutional Neural
Networks*, NIPS 2012. Every number a chapter or the side-by-side page quotes from the paper
is read from :data:`NUMBERS` (``paper.value("table2_1cnn_top5_val")``), so that it is
written down once, checked once against the paper's text, and never drifts; a test keeps
the book's pages in agreement with it.

Errors are percentages as the paper prints them. ``where`` names the section, table or
footnote, and ``says`` the paper's own words where they matter.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NUMBERS", "Number", "TABLE1", "TABLE2", "value", "where"]


@dataclass(frozen=True)
class Number:
    """One number of the paper: its value, its unit, where it is printed, and what it measures."""

    value: float
    unit: str
    where: str
    says: str

    def __str__(self) -> str:
        return f"{self.value:g}{'%' if self.unit == '%' else ' ' + self.unit if self.unit else ''}"


NUMBERS: dict[str, Number] = {
    # --- Table 1: ILSVRC-2010 test set -------------------------------------------------------
    "table1_sparse_coding_top1": Number(47.1, "%", "Table 1", "sparse coding, ILSVRC-2010 test, top-1"),
    "table1_sparse_coding_top5": Number(28.2, "%", "Table 1", "sparse coding, ILSVRC-2010 test, top-5"),
    "table1_sift_fv_top1": Number(45.7, "%", "Table 1", "SIFT + Fisher vectors, ILSVRC-2010 test, top-1"),
    "table1_sift_fv_top5": Number(25.7, "%", "Table 1", "SIFT + Fisher vectors, ILSVRC-2010 test, top-5"),
    "table1_cnn_top1": Number(37.5, "%", "Table 1", "the CNN, ILSVRC-2010 test, top-1 (ten patches averaged)"),
    "table1_cnn_top5": Number(17.0, "%", "Table 1", "the CNN, ILSVRC-2010 test, top-5 (ten patches averaged)"),
    "one_patch_top1": Number(39.0, "%", "Section 6, footnote",
                             "ILSVRC-2010 test, top-1, without averaging the predictions over ten patches"),
    "one_patch_top5": Number(18.3, "%", "Section 6, footnote",
                             "ILSVRC-2010 test, top-5, without averaging the predictions over ten patches"),
    # --- Table 2: ILSVRC-2012 validation and test ----------------------------------------------
    "table2_sift_fv_top5_test": Number(26.2, "%", "Table 2",
                                       "SIFT + FVs, the second-best entry of ILSVRC-2012, top-5 test"),
    "table2_1cnn_top1_val": Number(40.7, "%", "Table 2", "1 CNN, top-1 validation"),
    "table2_1cnn_top5_val": Number(18.2, "%", "Table 2", "1 CNN, top-5 validation"),
    "table2_5cnn_top1_val": Number(38.1, "%", "Table 2", "5 CNNs averaged, top-1 validation"),
    "table2_5cnn_top5_val": Number(16.4, "%", "Table 2", "5 CNNs averaged, top-5 validation"),
    "table2_5cnn_top5_test": Number(16.4, "%", "Table 2", "5 CNNs averaged, top-5 test"),
    "table2_1cnn_star_top1_val": Number(39.0, "%", "Table 2",
                                        "1 CNN*: a sixth convolutional layer, pre-trained on ImageNet Fall 2011 "
                                        "and fine-tuned, top-1 validation"),
    "table2_1cnn_star_top5_val": Number(16.6, "%", "Table 2", "1 CNN*, top-5 validation"),
    "table2_7cnn_star_top1_val": Number(36.7, "%", "Table 2",
                                        "7 CNNs*: the five CNNs and two pre-trained ones averaged, top-1 validation"),
    "table2_7cnn_star_top5_val": Number(15.4, "%", "Table 2", "7 CNNs*, top-5 validation"),
    "table2_7cnn_star_top5_test": Number(15.3, "%", "Table 2", "7 CNNs*, top-5 test: the winning entry"),
    # --- ImageNet Fall 2009 (10,184 classes) -------------------------------------------------------
    "fall2009_classes": Number(10184, "classes", "Section 6", "ImageNet Fall 2009: 10,184 categories"),
    "fall2009_cnn_top1": Number(67.4, "%", "Section 6",
                                "Fall 2009, half the images for training and half for testing: the net with a "
                                "sixth convolutional layer, top-1"),
    "fall2009_cnn_top5": Number(40.9, "%", "Section 6", "Fall 2009, top-5"),
    "fall2009_best_published_top1": Number(78.1, "%", "Section 6", "Fall 2009, best published result, top-1"),
    "fall2009_best_published_top5": Number(60.9, "%", "Section 6", "Fall 2009, best published result, top-5"),
    # --- the tricks and what each is reported to change -----------------------------------------
    "relu_speedup": Number(6, "x", "Section 3.1, Figure 1",
                           "a four-layer CNN with ReLUs reaches 25% training error on CIFAR-10 six times faster "
                           "than with tanh"),
    "relu_target_train_error": Number(25, "%", "Section 3.1, Figure 1", "the training error Figure 1 races to"),
    "two_gpus_top1": Number(1.7, "points", "Section 3.2",
                            "two GPUs (towers) against one GPU with half the kernels in each convolutional layer"),
    "two_gpus_top5": Number(1.2, "points", "Section 3.2", "two GPUs, top-5"),
    "lrn_top1": Number(1.4, "points", "Section 3.3", "response normalization lowers the top-1 error"),
    "lrn_top5": Number(1.2, "points", "Section 3.3", "response normalization lowers the top-5 error"),
    "lrn_cifar_without": Number(13, "%", "Section 3.3", "CIFAR-10, a four-layer CNN without normalization, test error"),
    "lrn_cifar_with": Number(11, "%", "Section 3.3", "the same with normalization"),
    "overlap_top1": Number(0.4, "points", "Section 3.4", "overlapping pooling lowers the top-1 error"),
    "overlap_top5": Number(0.3, "points", "Section 3.4", "overlapping pooling lowers the top-5 error"),
    "pca_top1": Number(1, "points", "Section 4.1", "PCA colour augmentation lowers the top-1 error 'by over 1%'"),
    "dropout_iterations": Number(2, "x", "Section 4.2",
                                 "'Dropout roughly doubles the number of iterations required to converge.'"),
    "middle_layer_top1": Number(2, "points", "Section 7",
                                "removing any of the middle convolutional layers costs 'about 2%' top-1"),
    # --- the recipe and the scale ---------------------------------------------------------------
    "batch_size": Number(128, "images", "Section 5", "batch size"),
    "momentum": Number(0.9, "", "Section 5", "momentum"),
    "weight_decay": Number(0.0005, "", "Section 5", "weight decay"),
    "learning_rate": Number(0.01, "", "Section 5", "initial learning rate, divided by 10 three times"),
    "lr_drops": Number(3, "", "Section 5", "'reduced three times prior to termination'"),
    "epochs": Number(90, "epochs", "Section 5", "'roughly 90 cycles through the training set'"),
    "days": Number(5.5, "days", "Section 5", "'five to six days on two NVIDIA GTX 580 3GB GPUs' (the middle)"),
    "training_images": Number(1.2e6, "images", "Section 2", "ILSVRC training images, 'roughly 1.2 million'"),
    "parameters": Number(60e6, "", "Abstract", "'60 million parameters'"),
    "neurons": Number(650_000, "", "Abstract", "'650,000 neurons'"),
    "conv1_neurons_figure2": Number(253_440, "", "Figure 2 caption",
                                    "the caption's neuron count for the first layer (96 x 55 x 55 would be 290,400)"),
}

# The rows of the paper's two tables, in its order: (model, top-1, top-5) and (model, top-1 val,
# top-5 val, top-5 test), None where the paper prints a dash.
TABLE1 = (("Sparse coding", "table1_sparse_coding_top1", "table1_sparse_coding_top5"),
          ("SIFT + FVs", "table1_sift_fv_top1", "table1_sift_fv_top5"),
          ("CNN", "table1_cnn_top1", "table1_cnn_top5"))
TABLE2 = (("SIFT + FVs", None, None, "table2_sift_fv_top5_test"),
          ("1 CNN", "table2_1cnn_top1_val", "table2_1cnn_top5_val", None),
          ("5 CNNs", "table2_5cnn_top1_val", "table2_5cnn_top5_val", "table2_5cnn_top5_test"),
          ("1 CNN*", "table2_1cnn_star_top1_val", "table2_1cnn_star_top5_val", None),
          ("7 CNNs*", "table2_7cnn_star_top1_val", "table2_7cnn_star_top5_val", "table2_7cnn_star_top5_test"))


def value(key: str) -> float:
    """The number the paper prints for ``key`` (see :data:`NUMBERS`)."""
    try:
        return NUMBERS[key].value
    except KeyError:
        raise KeyError(f"no paper number {key!r}; the keys are in alexnet_lib.paper.NUMBERS") from None


def where(key: str) -> str:
    """Where in the paper ``key`` is printed."""
    return NUMBERS[key].where
