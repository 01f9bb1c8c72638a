# Written for ADR 0022: an election may require voters to have a verified identity.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('voting', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='election',
            name='requires_verified_identity',
            field=models.BooleanField(default=False, verbose_name='voters must have a verified identity'),
        ),
        migrations.AddField(
            model_name='election',
            name='minimum_acr',
            field=models.CharField(blank=True, max_length=200, verbose_name='lowest level of assurance'),
        ),
    ]
