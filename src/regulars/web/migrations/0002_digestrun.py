from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("regulars_web", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DigestRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slot", models.DateTimeField(unique=True)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                (
                    "state",
                    models.CharField(
                        choices=[("sending", "sending"), ("sent", "sent"), ("failed", "failed")],
                        default="sending",
                        max_length=10,
                    ),
                ),
                ("recipients", models.IntegerField(default=0)),
                ("detail", models.TextField(blank=True, default="")),
            ],
            options={
                "ordering": ["-slot"],
            },
        ),
    ]
