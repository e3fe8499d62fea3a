"""The distilled student keeps the layers it is told, with the teacher's weights, and leaves the teacher whole."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def test_the_student_is_the_teachers_chosen_layers():
    from classifiers.distill import student_from

    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=32)
    torch.manual_seed(0)
    teacher = transformers.BertModel(config).eval()
    student = student_from(teacher, [0, 3])
    assert len(student.encoder.layer) == 2 and student.config.num_hidden_layers == 2
    assert len(teacher.encoder.layer) == 4 and teacher.config.num_hidden_layers == 4
    for mine, theirs in zip(student.encoder.layer, [teacher.encoder.layer[0], teacher.encoder.layer[3]]):
        for a, b in zip(mine.parameters(), theirs.parameters()):
            assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()  # a copy: training the student leaves the teacher
    ids = torch.tensor([[1, 5, 7, 2]])
    out = student(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert out.shape == (1, 4, 16)


def test_a_saved_student_is_served_as_trained(tmp_path):
    """The head folder a student is written to gives, through the loader every runtime uses, the student itself."""
    from classifiers.adapters import apply_head_changes, has_encoder_changes
    from classifiers.distill import save_student, student_from
    from classifiers.head import LinearHead

    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=32)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(tmp_path / "base")
    teacher = transformers.BertModel.from_pretrained(tmp_path / "base").eval()
    teacher_head = tmp_path / "teacher"
    LinearHead(labels=("a", "b"), coef=torch.randn(2, 16).numpy(), intercept=torch.zeros(2).numpy(), temperature=1.0).save(teacher_head)
    student = student_from(teacher, [1, 3])
    with torch.no_grad():
        student.encoder.layer[0].output.dense.weight.add_(0.25 * torch.randn_like(student.encoder.layer[0].output.dense.weight))
    card = {"version": "tiny-student2", "encoder": "tiny", "head": "test", "student_of": "teacher",
            "distill": {"keep": [1, 3], "history": [{"epoch": 1, "val_f1": 0.5, "val_agreement_with_teacher": 0.9}]}}
    out = save_student(student, [1, 3], tmp_path / "base", teacher_head, tmp_path / "student", card)

    assert has_encoder_changes(out)
    served = apply_head_changes(transformers.BertModel.from_pretrained(tmp_path / "base"), out).eval()
    assert served.config.num_hidden_layers == 2
    ids = torch.tensor([[1, 5, 7, 2]])
    with torch.no_grad():
        expected = student(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        got = served(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert torch.allclose(got, expected, atol=1e-3)
    assert not torch.allclose(got, student_from(teacher, [1, 3])(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state, atol=1e-3)
    assert "distilled student of teacher: encoder layers [1, 3], best epoch 1" in (out / "card.md").read_text()


def test_layers_to_keep_must_exist():
    from classifiers.adapters import keep_layers

    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    with pytest.raises(ValueError, match="distinct indices below 2"):
        keep_layers(transformers.BertModel(config), [0, 5])


def test_layer_loss_is_zero_for_the_teacher_itself_and_grows_with_a_change():
    from classifiers.distill import layer_loss, student_from

    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=32)
    torch.manual_seed(0)
    teacher = transformers.BertModel(config).eval()
    ids = torch.tensor([[1, 5, 7, 2], [1, 9, 2, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        theirs = teacher(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        whole = student_from(teacher, [0, 1, 2, 3])
        assert float(layer_loss(whole(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states,
                                theirs, [0, 1, 2, 3], mask)) == pytest.approx(0.0, abs=1e-10)
        cut = student_from(teacher, [0, 3])
        mine = cut(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        assert float(layer_loss(mine, theirs, [0, 3], mask)) > 1e-6
        # a padded position never counts: changing it leaves the loss alone
        moved = tuple(h.clone() for h in mine)
        moved[-1][1, 3] += 100.0
        assert float(layer_loss(moved, theirs, [0, 3], mask)) == pytest.approx(float(layer_loss(mine, theirs, [0, 3], mask)))
