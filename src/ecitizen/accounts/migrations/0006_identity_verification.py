# Written for ADR 0022 (sign-in with a national eID): the verified identity of an account.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_department_and_ward_names_in_each_language'),
    ]

    operations = [
        migrations.CreateModel(
            name='IdentityVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider', models.CharField(max_length=40)),
                ('acr', models.CharField(blank=True, max_length=200, verbose_name='level of assurance')),
                ('amr', models.JSONField(blank=True, default=list)),
                ('verified_fields', models.JSONField(blank=True, default=list)),
                ('verified_at', models.DateTimeField(verbose_name='verified on')),
                ('first_verified_at', models.DateTimeField()),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='identity_verification', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'verified identity',
                'verbose_name_plural': 'verified identities',
            },
        ),
    ]
