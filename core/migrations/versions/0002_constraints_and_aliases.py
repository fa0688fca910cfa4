"""Constraints the data relies on, and the aliases that keep no-ID drivers' codes stable.

- CHECK constraints on every stage, outcome, status and kind column;
- foreign keys from a driver to its branch and to its contact (a member driver);
- ``driver.updated_at`` loses its CURRENT_TIMESTAMP default: times are written by chelun, as
  timezone-aware UTC;
- ``driver_alias``: name with phone or plate of drivers keyed without an ID number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    with op.batch_alter_table("source_file") as batch_op:
        batch_op.create_check_constraint(
            "ck_source_file_status", f"status IN ({_one_of(('staging', 'staged'))})"
        )
    with op.batch_alter_table("branch") as batch_op:
        batch_op.create_check_constraint(
            "ck_branch_kind", f"kind IN ({_one_of(('enterprise', 'mobile', 'grid'))})"
        )
    with op.batch_alter_table("driver") as batch_op:
        batch_op.alter_column(
            "updated_at",
            existing_type=sa.DateTime(timezone=True),
            server_default=None,
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            "ck_driver_status", f"status IN ({_one_of(('active', 'retired'))})"
        )
        batch_op.create_check_constraint(
            "ck_driver_verification_stage",
            f"verification_stage IN ({_one_of(('match', 'phone', 'visit'))})",
        )
        batch_op.create_check_constraint(
            "ck_driver_verification_outcome",
            f"verification_outcome IN ({_one_of(('pending', 'confirmed', 'failed'))})",
        )
        batch_op.create_foreign_key(
            "fk_driver_province_branch", "branch", ["province", "branch"], ["province", "code"]
        )
        batch_op.create_foreign_key("fk_driver_contact_driver", "driver", ["contact"], ["id"])
    op.create_table(
        "driver_alias",
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("value", sa.String(length=20), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('phone', 'plate')", name=op.f("ck_driver_alias_kind")),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_driver_alias_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint(
            "province", "name_key", "kind", "value", name=op.f("pk_driver_alias")
        ),
    )


def downgrade() -> None:
    op.drop_table("driver_alias")
    with op.batch_alter_table("driver") as batch_op:
        batch_op.drop_constraint("fk_driver_contact_driver", type_="foreignkey")
        batch_op.drop_constraint("fk_driver_province_branch", type_="foreignkey")
        batch_op.drop_constraint("ck_driver_verification_outcome", type_="check")
        batch_op.drop_constraint("ck_driver_verification_stage", type_="check")
        batch_op.drop_constraint("ck_driver_status", type_="check")
        batch_op.alter_column(
            "updated_at",
            existing_type=sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            existing_nullable=False,
        )
    with op.batch_alter_table("branch") as batch_op:
        batch_op.drop_constraint("ck_branch_kind", type_="check")
    with op.batch_alter_table("source_file") as batch_op:
        batch_op.drop_constraint("ck_source_file_status", type_="check")
