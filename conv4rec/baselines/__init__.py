"""Baselines evaluated in the same framework and data layer as Conv4Rec (SPEC §5).

Every baseline has a frozen config (``config_class``, ``to_dict``/``from_dict``) and
``fit(train, *, generator)``; rating models add ``predict_ratings(users, items)``, ranking
models ``score_items(users, inputs=None)`` (``inputs``: fold-in interactions of users unseen at
training time, for strong generalization).

========================= ================= ======================================
name                      class             protocols
========================= ================= ======================================
``global_mean``           GlobalMean        explicit
``user_item_bias``        UserItemBias      explicit
``popularity``            ItemPopularity    weak, strong
``ease``                  EASE              weak, strong (Steck 2019)
``mult_vae``              MultVAE           weak, strong (Liang et al. 2018)
``i_autorec``             IAutoRec          explicit (Sedhain et al. 2015)
``biased_mf``             BiasedMF          explicit (Koren et al. 2009)
``srmgcnn``               SRMGCNN           explicit, needs side graphs (Monti et al. 2017)
========================= ================= ======================================
"""

from conv4rec.baselines._base import Baseline, BaselineConfig
from conv4rec.baselines.neural import (
                                       BiasedMF,
                                       BiasedMFConfig,
                                       IAutoRec,
                                       IAutoRecConfig,
                                       MultVAE,
                                       MultVAEConfig,
)
from conv4rec.baselines.simple import (
                                       EASE,
                                       BiasConfig,
                                       EASEConfig,
                                       EmptyConfig,
                                       GlobalMean,
                                       ItemPopularity,
                                       UserItemBias,
)
from conv4rec.baselines.srmgcnn import SRMGCNN, SRMGCNNConfig, load_graphs

#: name -> class of every baseline.
BASELINES: dict[str, type[Baseline]] = {
    cls.name: cls for cls in (GlobalMean, UserItemBias, ItemPopularity, EASE, MultVAE,
                              IAutoRec, BiasedMF, SRMGCNN)
}

__all__ = [
    "BASELINES", "EASE", "SRMGCNN", "Baseline", "BaselineConfig", "BiasConfig", "BiasedMF",
    "BiasedMFConfig", "EASEConfig", "EmptyConfig", "GlobalMean", "IAutoRec", "IAutoRecConfig",
    "ItemPopularity", "MultVAE", "MultVAEConfig", "SRMGCNNConfig", "UserItemBias", "load_graphs",
]
