"""Analysis, off the serving path: scikit-learn and scipy are imported here and nowhere else in peermatch.

    evaluation      precision/recall/NDCG@k, MRR, coverage, Gini; baselines; labelled CSVs
    text_scorer     fitting text adapters (shrinkage LDA) and scoring with them
    train_adapter   the command that fits the committed adapter
    pair_features   per-pair score components at unit weights
    tuning          grid/random search and learned weights
    feedback_sim    simulated feedback from hidden weights
    member_data     members and vectors for analysis (fixtures or a database)
"""
